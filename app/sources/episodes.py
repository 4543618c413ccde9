"""Sources whose alerts carry no start time: health checks, heartbeats, PagerDuty.

Alertmanager names each firing episode by its ``startsAt``; these senders only
say "down" or "up" about an identity. For them the identity is *the episode of
that fingerprint that is firing now*:

* a firing event while an episode fires is a repeat of it;
* a firing event while none fires starts a new episode, now (or just after the
  latest stored one, so that a clock behind another replica's, or a flap within
  one clock tick, never looks like a stale update);
* a resolution ends every episode that fires (there is normally one);
* a resolution while none fires is accepted and changes nothing.

Sources build their events with ``starts_at`` = the time of receipt and pass
them through :func:`anchor` before the pipeline, which then dedupes them like
any other alert (repeats take its one-statement fast path).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.events import AlertEvent
from app.models import alerts_table
from app.runtime import Runtime

_TICK = timedelta(microseconds=1)


async def anchor(runtime: Runtime, events: list[AlertEvent]) -> list[AlertEvent]:
    """The events with their episode's ``starts_at``; resolutions of nothing
    firing are left out (the sender is still answered with success)."""
    if not events:
        return []
    firing, latest = await _episodes(runtime, events)
    anchored: list[AlertEvent] = []
    for event in events:
        key = (event.source, event.fingerprint)
        if event.status == "firing":
            if firing[key]:
                starts_at = max(firing[key])
            else:
                stored = latest.get(key)
                starts_at = event.starts_at
                if stored is not None and stored >= starts_at:
                    starts_at = stored + _TICK
            anchored.append(dataclasses.replace(event, starts_at=starts_at))
        else:
            ends_at = event.ends_at or event.starts_at
            anchored.extend(
                dataclasses.replace(event, starts_at=start, ends_at=max(ends_at, start))
                for start in sorted(firing[key])
            )
    return anchored


async def _episodes(
    runtime: Runtime, events: list[AlertEvent]
) -> tuple[dict[tuple[str, str], list[datetime]], dict[tuple[str, str], datetime]]:
    """The starts of the firing episodes, and of the latest episode, of each
    of the events' identities."""
    a = alerts_table.c
    by_source: dict[str, set[str]] = defaultdict(set)
    for event in events:
        by_source[event.source].add(event.fingerprint)
    firing: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    latest: dict[tuple[str, str], datetime] = {}
    # A session of its own, closed before the pipeline opens its transaction
    # (on SQLite a second writer would wait for this one).
    async with runtime.sessions() as session:
        for source, fingerprints in sorted(by_source.items()):
            wanted = sorted(fingerprints)
            rows = await session.execute(
                select(a.fingerprint, a.starts_at).where(
                    a.source == source, a.fingerprint.in_(wanted), a.status == "firing"
                )
            )
            for row in rows:
                firing[(source, row.fingerprint)].append(row.starts_at)
            if any(not firing[(source, fp)] for fp in wanted):
                rows = await session.execute(
                    select(a.fingerprint, func.max(a.starts_at).label("latest"))
                    .where(a.source == source, a.fingerprint.in_(wanted))
                    .group_by(a.fingerprint)
                )
                for row in rows:
                    latest[(source, row.fingerprint)] = row.latest
    return firing, latest
