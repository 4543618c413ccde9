"""Firing → resolved, for every episode a delivery ends, in one statement on
PostgreSQL (issue 13).

Each resolved episode used to be an ``UPDATE … RETURNING`` of its own: a round
trip per alert, inside the delivery's transaction, while its row locks are
held (a group resolving ten alerts took ten). On PostgreSQL it is one
statement over arrays (``unnest``): it locks the episodes still firing in id
order (``FOR NO KEY UPDATE`` under ``ORDER BY``, the order the one-by-one
updates took), then updates them. SQLite, one writer at a time, keeps the
statement per episode.

Each update is guarded by ``status = 'firing'``, so that of two concurrent
deliveries only one counts a resolution against the incident; an episode named
twice in one delivery is resolved by the first naming (in id order), as the
one-by-one updates did.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy import and_, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import dialect_name
from app.models import alerts_table
from app.results import Classified


class StoredEpisode(Protocol):
    @property
    def id(self) -> int: ...


#: (the stored episode, its end, the delivery's item that resolves it, or
#: None when a new episode of the same alert ends it)
Resolution = tuple[StoredEpisode, datetime, Classified | None]

_PG_RESOLVE = text(
    """
    WITH v AS (
        SELECT *
          FROM unnest(CAST(:ids AS BIGINT[]), CAST(:ends AS TIMESTAMPTZ[]),
                      CAST(:bumps AS INT[]), CAST(:annotations AS TEXT[]))
               AS v(id, ends_at, bump, annotations)
    ), locked AS (
        SELECT a.id FROM alerts AS a
         WHERE a.id IN (SELECT v.id FROM v) AND a.status = 'firing'
         ORDER BY a.id
           FOR NO KEY UPDATE
    )
    UPDATE alerts AS a
       SET status = 'resolved', ends_at = v.ends_at, last_seen_at = CAST(:now AS TIMESTAMPTZ),
           occurrences = a.occurrences + v.bump,
           annotations = COALESCE(CAST(v.annotations AS JSON), a.annotations)
      FROM v JOIN locked ON locked.id = v.id
     WHERE a.id = v.id AND a.status = 'firing'
    RETURNING a.id, a.incident_number, a.name
    """
)


async def apply_resolutions(
    session: AsyncSession, resolutions: Sequence[Resolution], *, now: datetime
) -> dict[int, list[str]]:
    """Resolve episodes; return, per incident, the names of the episodes that
    this delivery moved from firing to resolved (in id order)."""
    first: dict[int, Resolution] = {}
    for resolution in sorted(resolutions, key=lambda r: r[0].id):
        first.setdefault(resolution[0].id, resolution)
    if not first:
        return {}
    if dialect_name(session) == "postgresql":
        rows = await _resolve_pg(session, list(first.values()), now=now)
    else:
        rows = await _resolve_each(session, list(first.values()), now=now)
    by_incident: dict[int, list[str]] = defaultdict(list)
    for _, incident_number, name in sorted(rows):
        if incident_number is not None:
            by_incident[incident_number].append(name)
    return by_incident


async def _resolve_pg(
    session: AsyncSession, resolutions: list[Resolution], *, now: datetime
) -> list[tuple[int, int | None, str]]:
    values: dict[str, Any] = {"ids": [], "ends": [], "bumps": [], "annotations": [], "now": now}
    for stored, ends_at, item in resolutions:
        values["ids"].append(stored.id)
        values["ends"].append(ends_at)
        values["bumps"].append(0 if item is None else 1)
        annotations = item.event.annotations if item is not None else None
        values["annotations"].append(orjson.dumps(annotations).decode() if annotations else None)
    result = await session.execute(_PG_RESOLVE, values)
    return [(row.id, row.incident_number, row.name) for row in result]


async def _resolve_each(
    session: AsyncSession, resolutions: list[Resolution], *, now: datetime
) -> list[tuple[int, int | None, str]]:
    a = alerts_table.c
    rows = []
    for stored, ends_at, item in resolutions:
        values: dict[str, Any] = {"status": "resolved", "ends_at": ends_at, "last_seen_at": now}
        if item is not None:
            values["occurrences"] = a.occurrences + 1
            if item.event.annotations:
                values["annotations"] = item.event.annotations
        row = (
            await session.execute(
                update(alerts_table)
                .where(and_(a.id == stored.id, a.status == "firing"))
                .values(**values)
                .returning(a.incident_number, a.name)
            )
        ).first()
        if row is not None:
            rows.append((stored.id, row.incident_number, row.name))
    return rows
