"""The silences Klaxon wants Alertmanager to hold: desired state, written in the
transaction that decided it (a window created, changed, ended or deleted; the
horizon moving on), like every outgoing message. app/maintenance/sync.py then
makes Alertmanager hold what this table says.

Each occurrence of a window that overlaps [now, now + horizon] is one row,
keyed by (window, occurrence start). A row whose window changed goes back to
``pending`` (to be posted again); a row no longer wanted goes to ``expiring``,
or straight to ``expired`` if Alertmanager never had it and no request for it
is in flight.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.maintenance import store
from app.maintenance.windows import Window, active, matchers_of, occurrences
from app.metrics import MAINTENANCE_WINDOWS_ACTIVE, SILENCES_ACTIVE, SILENCES_PENDING
from app.models import Silence, silences_table
from app.models.rows import typed
from app.settings import Settings

LIVE = ("pending", "synced")
_S = silences_table.c


def am_matchers(window: Window) -> list[dict[str, Any]]:
    """The window's scope in Alertmanager's matcher form."""
    found = [
        {
            "name": m.name,
            "value": m.value,
            "isRegex": m.op in ("=~", "!~"),
            "isEqual": m.op in ("=", "=~"),
        }
        for m in matchers_of(window)
    ]
    if len(window.services) == 1:
        found.append(
            {"name": "service", "value": window.services[0], "isRegex": False, "isEqual": True}
        )
    elif window.services:
        either = "|".join(re.escape(s) for s in window.services)
        found.append({"name": "service", "value": either, "isRegex": True, "isEqual": True})
    return found


def window_comment(window: Window, settings: Settings) -> str:
    base = (settings.public_url or settings.served_url).rstrip("/")
    return (
        f'Klaxon maintenance window "{window.name}": {window.reason}'
        f" {base}/api/v1/maintenance/{window.id}"
    )


async def plan_window(
    session: AsyncSession, settings: Settings, window: Window | None, window_id: int, now: datetime
) -> None:
    """Make the rows of window ``window_id`` what it wants now (``None``: it was
    deleted, every row of it goes). Nothing without Alertmanager URLs."""
    if not settings.alertmanager_url_list:
        return
    wanted: dict[datetime, dict[str, Any]] = {}
    if window is not None:
        horizon = now + timedelta(hours=settings.alertmanager_silence_horizon_hours)
        matchers = am_matchers(window)
        comment = window_comment(window, settings)
        for occurrence in occurrences(window, now, horizon):
            wanted[occurrence.start] = {
                "matchers": matchers,
                "ends_at": occurrence.end,
                "comment": comment,
            }
    rows = await session.execute(
        select(silences_table)
        .where(_S.window_id == window_id, _S.state.in_((*LIVE, "expiring")))
        .with_for_update()
    )
    for row in rows:
        want = wanted.pop(row.starts_at, None)
        if want is None:
            if row.state != "expiring":
                await _unwant(session, typed(Silence, row), now)
        elif row.state == "expiring" or any(getattr(row, k) != v for k, v in want.items()):
            await _set(session, row.id, now, state="pending", **want)
    for starts_at, want in wanted.items():
        await session.execute(
            insert_for(session, silences_table)
            .values(
                window_id=window_id,
                starts_at=starts_at,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
                **want,
            )
            .on_conflict_do_nothing(index_elements=["window_id", "starts_at"])
        )
    if window is None:
        # Its id may be used again (SQLite): its rows are kept apart from the new one's.
        await session.execute(
            update(silences_table).where(_S.window_id == window_id).values(window_id=None)
        )


async def _set(session: AsyncSession, row_id: int, now: datetime, **values: Any) -> None:
    # Clearing the lease tells a request in flight that the row changed under it.
    await session.execute(
        update(silences_table)
        .where(_S.id == row_id)
        .values(lease_until=None, next_attempt_at=now, attempts=0, updated_at=now, **values)
    )


async def _unwant(session: AsyncSession, row: Silence, now: datetime) -> None:
    assert row.id is not None  # a fetched row
    if row.alertmanager_id is None and row.lease_until is None:
        await _set(session, row.id, now, state="expired")
    else:
        await _set(session, row.id, now, state="expiring")


async def plan_all(session: AsyncSession, settings: Settings, now: datetime) -> None:
    """Roll every live window's silences forward to the horizon; update the gauges."""
    live = await store.live_windows(session, now)
    MAINTENANCE_WINDOWS_ACTIVE.set(sum(1 for w in live if active(w, now) is not None))
    for window in live:
        assert window.id is not None
        await plan_window(session, settings, window, window.id, now)
    await count(session, now)


async def count(session: AsyncSession, now: datetime) -> None:
    in_force = and_(_S.state == "synced", _S.starts_at <= now, _S.ends_at > now)
    for kind, column in (("window", _S.window_id), ("incident", _S.incident_number)):
        n = await session.execute(select(func.count()).where(in_force, column.is_not(None)))
        SILENCES_ACTIVE.labels(kind).set(n.scalar_one())
    pending = await session.execute(
        select(func.count()).where(_S.state.in_(("pending", "expiring")))
    )
    SILENCES_PENDING.set(pending.scalar_one())
