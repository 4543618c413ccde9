"""Maintenance windows in the database. Every function runs in the caller's
transaction and never commits, and hands back typed windows: a stored one as
:class:`~app.models.MaintenanceWindow`, the live ones as the
:class:`~app.maintenance.windows.Window` the quieting works with."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance.schemas import WindowSpec
from app.maintenance.windows import Window
from app.models import MaintenanceWindow, maintenance_windows_table
from app.models.rows import typed, typed_or_none

Outcome = Literal["created", "updated", "unchanged"]  # as app.heartbeats.store
_W = maintenance_windows_table.c


async def get_window(session: AsyncSession, window_id: int) -> MaintenanceWindow | None:
    stmt = select(maintenance_windows_table).where(_W.id == window_id)
    return typed_or_none(MaintenanceWindow, (await session.execute(stmt)).first())


async def get_window_by_name(session: AsyncSession, name: str) -> MaintenanceWindow | None:
    stmt = select(maintenance_windows_table).where(_W.name == name)
    return typed_or_none(MaintenanceWindow, (await session.execute(stmt)).first())


async def list_windows(
    session: AsyncSession, *, include_ended: bool = True
) -> list[MaintenanceWindow]:
    stmt = select(maintenance_windows_table).order_by(_W.starts_at, _W.id)
    if not include_ended:
        stmt = stmt.where(_W.ended_at.is_(None))
    return [typed(MaintenanceWindow, row) for row in await session.execute(stmt)]


async def live_windows(session: AsyncSession, now: datetime) -> list[Window]:
    """Windows that may be in force now or later: not ended, and (one-off) not over."""
    stmt = (
        select(maintenance_windows_table)
        .where(or_(_W.ended_at.is_(None), _W.ended_at > now))
        .where(or_(_W.rrule.is_not(None), _W.ends_at > now))
        .order_by(_W.id)
    )
    return [Window.of(typed(MaintenanceWindow, row)) for row in await session.execute(stmt)]


def _values(spec: WindowSpec, author: str) -> dict[str, Any]:
    return {
        "reason": spec.reason,
        "author": spec.author or author,
        "time_zone": spec.time_zone,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "rrule": spec.rrule,
        "duration_seconds": spec.duration,
        "matchers": list(spec.matchers),
        "services": list(spec.services),
        "quiet_open_incidents": spec.quiet_open_incidents,
        "public_title": spec.public_title,
        "public_description": spec.public_description,
    }


async def create_window(
    session: AsyncSession, spec: WindowSpec, *, author: str, now: datetime
) -> MaintenanceWindow:
    stmt = (
        insert(maintenance_windows_table)
        .values(name=spec.name, created_at=now, updated_at=now, **_values(spec, author))
        .returning(maintenance_windows_table)
    )
    return typed(MaintenanceWindow, (await session.execute(stmt)).one())


async def upsert_window(
    session: AsyncSession, spec: WindowSpec, *, author: str, now: datetime
) -> tuple[Outcome, MaintenanceWindow | None, MaintenanceWindow]:
    """Create or change a window by name (the apply file): the outcome, the row
    before (None if new) and after. Changing a window that was ended revives it."""
    stmt = select(maintenance_windows_table).where(_W.name == spec.name).with_for_update()
    before = typed_or_none(MaintenanceWindow, (await session.execute(stmt)).first())
    if before is None:
        return "created", None, await create_window(session, spec, author=author, now=now)
    values = _values(spec, spec.author or before.author)
    if before.ended_at is None and all(getattr(before, k) == v for k, v in values.items()):
        return "unchanged", before, before
    after = (
        await session.execute(
            update(maintenance_windows_table)
            .where(_W.id == before.id)
            .values(ended_at=None, updated_at=now, **values)
            .returning(maintenance_windows_table)
        )
    ).one()
    return "updated", before, typed(MaintenanceWindow, after)


async def end_window(
    session: AsyncSession, window_id: int, *, now: datetime
) -> MaintenanceWindow | None:
    """Mark the window ended now (nothing of it is in force from now on)."""
    stmt = (
        update(maintenance_windows_table)
        .where(_W.id == window_id)
        .values(ended_at=now, updated_at=now)
        .returning(maintenance_windows_table)
    )
    return typed_or_none(MaintenanceWindow, (await session.execute(stmt)).first())


async def delete_window(session: AsyncSession, window_id: int) -> MaintenanceWindow | None:
    stmt = delete(maintenance_windows_table).where(_W.id == window_id)
    row = (await session.execute(stmt.returning(maintenance_windows_table))).first()
    return typed_or_none(MaintenanceWindow, row)
