"""Expiring heartbeats: durable timers, a stage of the worker (app/worker.py).

A heartbeat's ``expires_at`` is a due time like an escalation step's, so it
fires even if Klaxon was down when it passed. Each expiry takes three steps,
so that replicas expire each heartbeat once and one that dies midway leaves
the expiry to another:

1. **claim**: a due row, taken with ``FOR UPDATE SKIP LOCKED``, becomes
   ``expired`` with a lease (``lease_until``); committed;
2. **fire**: its alert goes through the pipeline like any other; its episode
   starts at the deadline, so firing it again after a crash is a repeat;
3. **confirm**: the lease is cleared if it is still ours. A ping in between
   clears it first: then the alert that just fired is resolved, as the
   heartbeat was late but is back.

An expiry whose lease runs out unconfirmed is claimed again.

The alert goes through the pipeline (app/pipeline.py), a stage order above this
stage: whoever runs the expiry (the worker) or a recovery (the heartbeat API)
hands it in as ``feed``, so that no stage imports a stage order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.claim import first_due
from app.db import is_unavailable
from app.errors import Unavailable
from app.events import AlertEvent
from app.models import Heartbeat, heartbeats_table
from app.models.rows import typed
from app.results import IngestResult
from app.runtime import Runtime
from app.sources import episodes, heartbeat
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
ACTOR = "klaxon (heartbeat)"
LEASE = timedelta(seconds=60)


class Feed(Protocol):
    """The pipeline's entry (``app.pipeline.process``): alerts in, what they did out."""

    def __call__(
        self, runtime: Runtime, events: list[AlertEvent], *, actor: str
    ) -> Awaitable[IngestResult]: ...


async def expire_due(runtime: Runtime, feed: Feed) -> int:
    """Expire every heartbeat past its deadline; returns how many."""
    expired = 0
    while expired < runtime.settings.engine_batch:
        claim = await _claim(runtime)
        if claim is None:
            break
        row, lease = claim
        expired += 1
        try:
            await _fire(runtime, row, lease, feed)
        except Exception as exc:
            if is_unavailable(exc) or isinstance(exc, Unavailable):
                raise
            # The lease runs out and the expiry is tried again.
            log.exception("expiring heartbeat %s failed", row.name)
    return expired


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next heartbeat expires (or an unconfirmed expiry's lease ends)."""
    h = heartbeats_table.c
    deadline = (
        await session.execute(select(func.min(h.expires_at)).where(h.status == "up"))
    ).scalar()
    lease = (
        await session.execute(select(func.min(h.lease_until)).where(h.lease_until.is_not(None)))
    ).scalar()
    dues: list[datetime] = [d for d in (deadline, lease) if d is not None]
    return min(dues) if dues else None


async def recover(runtime: Runtime, row: Heartbeat, *, actor: str, feed: Feed) -> IngestResult:
    """Resolve whatever expiry alert of this heartbeat fires (nothing if none)."""
    event = heartbeat.recovered_event(row, at=runtime.clock.now())
    return await feed(runtime, await episodes.anchor(runtime, [event]), actor=actor)


async def _fire(runtime: Runtime, row: Heartbeat, lease: datetime, feed: Feed) -> None:
    """Fire a claimed expiry's alert, then confirm the claim."""
    # _claim set both: the row is stored, and it states its deadline.
    assert row.id is not None and row.expired_at is not None
    log.info("heartbeat %s expired (deadline %s)", row.name, row.expired_at.isoformat())
    event = heartbeat.expired_event(row, expired_at=row.expired_at)
    await feed(runtime, [event], actor=ACTOR)
    if await _came_back(runtime, row.id, lease):
        await recover(runtime, row, actor=ACTOR, feed=feed)


async def _claim(runtime: Runtime) -> tuple[Heartbeat, datetime] | None:
    h = heartbeats_table.c
    now = runtime.clock.now()
    async with unit_of_work(runtime) as uow:
        session = uow.session
        row = await first_due(
            session,
            heartbeats_table,
            or_(
                and_(h.status == "up", h.expires_at <= now),
                and_(h.lease_until.is_not(None), h.lease_until <= now),
            ),
            (h.expires_at, h.id),
        )
        if row is None:
            return None
        # The episode starts at the deadline, also when a retry claims it.
        expired_at = row.expires_at if row.status == "up" else (row.expired_at or row.expires_at)
        lease = now + LEASE
        claimed = (
            await session.execute(
                update(heartbeats_table)
                .where(h.id == row.id)
                .values(status="expired", expired_at=expired_at, lease_until=lease)
                .returning(heartbeats_table)
            )
        ).one()
    return typed(Heartbeat, claimed), lease


async def _came_back(runtime: Runtime, heartbeat_id: int, lease: datetime) -> bool:
    """Confirm the expiry: False while it stands (ours, or taken over by another
    replica); True when a ping (or a deletion) came in meanwhile."""
    h = heartbeats_table.c
    async with unit_of_work(runtime) as uow:
        session = uow.session
        confirmed = (
            await session.execute(
                update(heartbeats_table)
                .where(h.id == heartbeat_id, h.lease_until == lease)
                .values(lease_until=None)
                .returning(h.id)
            )
        ).first()
        if confirmed is not None:
            return False
        status = (await session.execute(select(h.status).where(h.id == heartbeat_id))).scalar()
    return status != "expired"
