"""The common case of a delivery, in one statement: firing alerts we already know.

Alertmanager resends whole groups every ``group_interval``, so most
deliveries only repeat stored, firing episodes. Counting them is one
``UPDATE … RETURNING``, run on its own (autocommit on PostgreSQL) so its row
locks last only as long as the statement, not across the event loop's turns
(the delivery's first commit: app/transaction.py says why there are two).

It writes only when *every* alert of the delivery repeats a firing episode:
then the delivery has nothing else to write, and nothing left that could be
refused. Any other delivery (a new alert, a resolution) is left whole to the
one transaction of ``app.ingest.dedupe``, which counts its repeats too, so
that a delivery refused there leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import chunked, driver_connection
from app.models import alerts_table
from app.results import Classified, EpisodeKey, episode_key


@dataclass
class Repeats:
    matched: set[EpisodeKey] = field(default_factory=set)
    incidents: set[int] = field(default_factory=set)


# On PostgreSQL the statement goes straight to asyncpg: one prepared
# statement whatever the number of alerts, planned once, and about a third of
# the client CPU of the same statement through SQLAlchemy (measured by
# ``make bench``; this is the hottest statement Klaxon has).
# The count guard makes it all or nothing. (A concurrent resolution between
# the guard's snapshot and the row lock can still leave a row out: the rest
# then goes through the full transaction, like any other delivery.)
#
# ``a.status || '' = 'firing'`` is ``a.status = 'firing'`` that no index can
# serve (FIRING_ONLY): each alert is found by its episode key and updated by
# its id. Given the plain condition, a planner whose statistics were taken
# when little fired (a quiet night; a year of resolved history) counts on one
# firing alert, scans them all through the firing index and compares each
# with each delivered one: 45 ms a statement at 1,000 firing alerts, and
# growing with a storm (tests/incidents/test_history_plans.py).
FIRING_ONLY = "a.status || '' = 'firing'"
PG_REPEATS = f"""
WITH hit AS (
    SELECT a.id
      FROM unnest($3::text[], $4::timestamptz[]) AS v(fingerprint, starts_at)
      JOIN alerts AS a
        ON a.source = $2 AND a.fingerprint = v.fingerprint AND a.starts_at = v.starts_at
     WHERE {FIRING_ONLY}
)
UPDATE alerts AS a
   SET occurrences = a.occurrences + 1, last_seen_at = $1
  FROM hit
 WHERE a.id = hit.id AND {FIRING_ONLY} AND (SELECT count(*) FROM hit) = $5
RETURNING a.id, a.fingerprint, a.starts_at, a.annotations::text AS annotations,
          a.incident_number
"""


def firing_by_source(items: list[Classified]) -> dict[str, dict[EpisodeKey, Classified]]:
    by_source: dict[str, dict[EpisodeKey, Classified]] = {}
    for item in items:
        if item.event.status == "firing":
            by_source.setdefault(item.event.source, {})[episode_key(item.event)] = item
    return by_source


def repeat_candidates(items: list[Classified]) -> tuple[str, dict[EpisodeKey, Classified]] | None:
    """The delivery's source and firing episodes if it may be only repeats
    (every alert firing, from one source); None otherwise."""
    by_source = firing_by_source(items)
    if len(by_source) != 1 or any(item.event.status != "firing" for item in items):
        return None
    [(source, wanted)] = by_source.items()
    return source, wanted


async def record_repeats(
    conn: AsyncConnection, items: list[Classified], *, now: datetime
) -> Repeats:
    """Count the delivery as repeats if every alert of it repeats a firing
    episode; otherwise match nothing (and on SQLite, the caller rolls back)."""
    candidates = repeat_candidates(items)
    if candidates is None:
        return Repeats()
    source, wanted = candidates
    if conn.dialect.name == "postgresql":
        return await _record_repeats_asyncpg(conn, source, wanted, now=now)
    # SQLite: ``conn`` is in the caller's unit of work, which rolls back what
    # this counted when it answers nothing matched (app/pipeline.py).
    found = await _record_repeats_core(conn, source, wanted, now=now)
    return found if len(found.matched) == len(wanted) else Repeats()


async def _record_repeats_asyncpg(
    conn: AsyncConnection, source: str, wanted: dict[EpisodeKey, Classified], *, now: datetime
) -> Repeats:
    found = Repeats()
    raw = await driver_connection(conn)
    keys = sorted(wanted)
    rows = await raw.fetch(
        PG_REPEATS, now, source, [k[1] for k in keys], [k[2] for k in keys], len(keys)
    )
    changed: list[tuple[str, int]] = []
    for row in rows:
        key = (source, row["fingerprint"], row["starts_at"])
        take_row(found, key, row, wanted[key], changed)
    await write_annotations(raw, changed)
    return found


def take_row(
    found: Repeats,
    key: EpisodeKey,
    row: Mapping[str, Any],
    classified: Classified,
    changed: list[tuple[str, int]],
) -> None:
    """One stored alert a delivery repeats (a row of asyncpg's ``PG_REPEATS``
    or the batch's statement): counted as matched, its incident noted, and its
    annotations queued in ``changed`` if the delivery brings new ones."""
    found.matched.add(key)
    if row["incident_number"] is not None:
        found.incidents.add(row["incident_number"])
    annotations = classified.event.annotations
    if annotations and annotations != orjson.loads(row["annotations"]):
        changed.append((orjson.dumps(annotations).decode(), row["id"]))


async def write_annotations(raw: Any, changed: list[tuple[str, int]]) -> None:
    """The changed annotations, on asyncpg, in id order (the order rows are locked in)."""
    if changed:
        await raw.executemany(
            "UPDATE alerts SET annotations = $1::json WHERE id = $2",
            sorted(changed, key=lambda c: int(c[1])),
        )


async def _record_repeats_core(
    conn: AsyncConnection, source: str, wanted: dict[EpisodeKey, Classified], *, now: datetime
) -> Repeats:
    a = alerts_table.c
    found = Repeats()
    changed = []
    for pairs in chunked(sorted((key[1], key[2]) for key in wanted)):
        rows = await conn.execute(
            update(alerts_table)
            .where(
                a.source == source,
                # Redundant with the pair test, but it lets the planner use the
                # (source, fingerprint, starts_at) index.
                a.fingerprint.in_(sorted({fp for fp, _ in pairs})),
                tuple_(a.fingerprint, a.starts_at).in_(pairs),
                a.status == "firing",
            )
            .values(occurrences=a.occurrences + 1, last_seen_at=now)
            .returning(a.id, a.fingerprint, a.starts_at, a.annotations, a.incident_number)
        )
        for row in rows:
            key = (source, row.fingerprint, row.starts_at)
            found.matched.add(key)
            if row.incident_number is not None:
                found.incidents.add(row.incident_number)
            annotations = wanted[key].event.annotations
            if annotations and annotations != row.annotations:
                changed.append({"b_id": row.id, "b_annotations": annotations})
    if changed and len(found.matched) == len(wanted):
        await conn.execute(
            update(alerts_table)
            .where(a.id == bindparam("b_id"))
            .values(annotations=bindparam("b_annotations")),
            sorted(changed, key=lambda c: int(c["b_id"])),
        )
    return found
