"""Two lookups of ``app.ingest.dedupe`` in PostgreSQL's own terms (issue 13).

Built with SQLAlchemy per delivery, the lookups of a new alert's earlier
episodes are a union of three subqueries per fingerprint: a statement whose
shape changes with every delivery, which SQLAlchemy builds, caches under a new
key and compiles each time, and PostgreSQL parses and plans each time. Here
each is one fixed statement over arrays (``unnest``), prepared once per
connection. SQLite keeps dedupe's own statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from app.models import alerts_table

_a = alerts_table.c
#: What deciding reads of a stored episode (dedupe's ``_Stored``).
EPISODE_COLUMNS = (
    _a.id,
    _a.source,
    _a.fingerprint,
    _a.starts_at,
    _a.ends_at,
    _a.status,
    _a.incident_number,
    _a.annotations,
)


def arrays(rows: Sequence[tuple[Any, ...]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    """Rows as one list per column, for ``unnest``."""
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


# On PostgreSQL the same lookups as dedupe's _any_stored and _neighbours, each one
# statement whatever the number of fingerprints: the same SQL every time, so
# planned once per connection, where the statements built per delivery cost
# SQLAlchemy more to build and compile than PostgreSQL to run (a quarter of
# the CPU of a round of new alerts under the bench's load, issue 13).
ANY_STORED = text(
    """
    SELECT v.source, v.fingerprint
      FROM unnest(CAST(:sources AS TEXT[]), CAST(:fps AS TEXT[])) AS v(source, fingerprint)
     WHERE EXISTS (SELECT 1 FROM alerts AS a
                    WHERE a.source = v.source AND a.fingerprint = v.fingerprint)
    """
)
_EPISODE = ", ".join(f"a.{column.name}" for column in EPISODE_COLUMNS)
_MINE = "FROM alerts AS a WHERE a.source = v.source AND a.fingerprint = v.fingerprint"
NEIGHBOURS = text(
    f"""
    SELECT n.* FROM unnest(
             CAST(:sources AS TEXT[]), CAST(:fps AS TEXT[]), CAST(:starts AS TIMESTAMPTZ[])
         ) AS v(source, fingerprint, starts_at)
    CROSS JOIN LATERAL (
        (SELECT {_EPISODE} {_MINE} AND a.starts_at < v.starts_at
          ORDER BY a.starts_at DESC LIMIT 1)
        UNION ALL
        (SELECT {_EPISODE} {_MINE} AND a.starts_at > v.starts_at
          ORDER BY a.starts_at LIMIT 1)
        UNION ALL
        (SELECT {_EPISODE} {_MINE} AND a.starts_at <= CAST(:now AS TIMESTAMPTZ)
          ORDER BY a.starts_at DESC LIMIT 1)
    ) AS n
    """
).columns(*EPISODE_COLUMNS)
