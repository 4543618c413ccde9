"""Heartbeats in the database. Every function runs in the caller's transaction
and never commits.

A heartbeat is armed from its creation: a monitor that never pings expires
like one that stopped, so a wiring mistake is noticed too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.heartbeats.schemas import HeartbeatSpec
from app.models import Heartbeat, heartbeats_table
from app.models.rows import typed, typed_or_none

Outcome = Literal["created", "updated", "unchanged"]  # as app.oncall.store.Change


def _deadline(since: datetime, interval: int, grace: int) -> datetime:
    return since + timedelta(seconds=interval + grace)


async def get_heartbeat(session: AsyncSession, name: str) -> Heartbeat | None:
    h = heartbeats_table.c
    row = (await session.execute(select(heartbeats_table).where(h.name == name))).first()
    return typed_or_none(Heartbeat, row)


async def list_heartbeats(session: AsyncSession) -> list[Heartbeat]:
    h = heartbeats_table.c
    rows = await session.execute(select(heartbeats_table).order_by(h.name))
    return [typed(Heartbeat, row) for row in rows]


def _values(spec: HeartbeatSpec) -> dict[str, Any]:
    return {
        "interval_seconds": spec.interval,
        "grace_seconds": spec.grace,
        "severity": spec.severity,
        "labels": dict(spec.labels),
        "description": spec.description,
    }


async def upsert_heartbeat(session: AsyncSession, spec: HeartbeatSpec, *, now: datetime) -> Outcome:
    """Create or change a heartbeat. A change of interval or grace moves the
    deadline of a heartbeat that is up (from its last ping); one that has
    expired stays so until its next ping."""
    h = heartbeats_table.c
    values = _values(spec)
    existing = (
        await session.execute(select(heartbeats_table).where(h.name == spec.name).with_for_update())
    ).first()
    if existing is None:
        await session.execute(
            insert(heartbeats_table).values(
                name=spec.name,
                status="up",
                expires_at=_deadline(now, spec.interval, spec.grace),
                pings=0,
                created_at=now,
                updated_at=now,
                **values,
            )
        )
        return "created"
    if all(getattr(existing, key) == value for key, value in values.items()):
        return "unchanged"
    changes = dict(values, updated_at=now)
    if existing.status == "up":
        since = existing.last_ping_at or existing.created_at
        changes["expires_at"] = _deadline(since, spec.interval, spec.grace)
    await session.execute(update(heartbeats_table).where(h.id == existing.id).values(**changes))
    return "updated"


async def delete_heartbeat(session: AsyncSession, name: str) -> Heartbeat | None:
    """Delete it; returns what it was, or None if there was none."""
    h = heartbeats_table.c
    stmt = delete(heartbeats_table).where(h.name == name).returning(heartbeats_table)
    return typed_or_none(Heartbeat, (await session.execute(stmt)).first())


async def record_ping(session: AsyncSession, name: str, *, now: datetime) -> Heartbeat | None:
    """Note a ping: the heartbeat is up until interval + grace from now. None if
    there is no such heartbeat. Clearing the lease tells an expiry in flight
    that the heartbeat came back (see ``app.heartbeats.expiry``)."""
    h = heartbeats_table.c
    row = (
        await session.execute(select(heartbeats_table).where(h.name == name).with_for_update())
    ).first()
    if row is None:
        return None
    await session.execute(
        update(heartbeats_table)
        .where(h.id == row.id)
        .values(
            status="up",
            last_ping_at=now,
            expires_at=_deadline(now, row.interval_seconds, row.grace_seconds),
            lease_until=None,
            pings=h.pings + 1,
        )
    )
    return await get_heartbeat(session, name)
