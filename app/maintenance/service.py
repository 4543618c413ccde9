"""Creating, changing, ending and deleting maintenance windows, for the API and
the apply file: each change also releases the steps the window held that it
holds no more (app/maintenance/quiet.py) and re-plans its Alertmanager silences
(app/maintenance/silences.py), in the caller's transaction. Nothing commits here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.maintenance import quiet, silences, store
from app.maintenance.schemas import WindowSpec
from app.maintenance.store import Outcome
from app.maintenance.windows import Window, active
from app.models import MaintenanceWindow
from app.settings import Settings


def _id(window: MaintenanceWindow) -> int:
    """A stored window's id (the model has None only for one not yet stored)."""
    assert window.id is not None
    return window.id


async def _after_change(
    session: AsyncSession,
    settings: Settings | None,
    before: MaintenanceWindow | None,
    after: MaintenanceWindow | None,
    window_id: int,
    now: datetime,
) -> None:
    if before is not None:
        old = active(Window.of(before), now)
        new = active(Window.of(after), now) if after is not None else None
        if old is not None and (new is None or new.end != old.end):
            await quiet.release(session, Window.of(before), old.end, now=now)
    # An ended window's occurrences stop at its end: its silences are unwanted.
    window = Window.of(after) if after is not None else None
    if settings is not None:  # else the worker's next plan picks it up
        await silences.plan_window(session, settings, window, window_id, now)


async def create(
    session: AsyncSession, settings: Settings, spec: WindowSpec, *, author: str, now: datetime
) -> MaintenanceWindow:
    if await store.get_window_by_name(session, spec.name) is not None:
        raise Conflict(f"a maintenance window named {spec.name!r} exists")
    row = await store.create_window(session, spec, author=author, now=now)
    await _after_change(session, settings, None, row, _id(row), now)
    return row


async def upsert(
    session: AsyncSession,
    settings: Settings | None,
    spec: WindowSpec,
    *,
    author: str,
    now: datetime,
) -> Outcome:
    outcome, before, after = await store.upsert_window(session, spec, author=author, now=now)
    if outcome != "unchanged":
        await _after_change(session, settings, before, after, _id(after), now)
    return outcome


async def end(
    session: AsyncSession, settings: Settings, window_id: int, *, now: datetime
) -> MaintenanceWindow | None:
    """End it now; None if there is no such window."""
    before = await store.get_window(session, window_id)
    if before is None:
        return None
    if before.ended_at is not None and before.ended_at <= now:
        return before
    after = await store.end_window(session, window_id, now=now)
    await _after_change(session, settings, before, after, window_id, now)
    return after


async def delete(
    session: AsyncSession, settings: Settings, window_id: int, *, now: datetime
) -> MaintenanceWindow | None:
    """Delete it; the row it was, or None if there was none."""
    before = await store.delete_window(session, window_id)
    if before is not None:
        await _after_change(session, settings, before, None, window_id, now)
    return before
