"""Reconciling the ``silences`` table (what Klaxon wants) with Alertmanager (what
it holds): a task beside the worker's loop (app/worker.py).

Each pass re-plans the desired silences when the horizon has moved on
(``KLAXON_ALERTMANAGER_PLAN_SECONDS``), then works the rows that are due:
``pending`` ones are posted (created or updated), ``expiring`` ones deleted.
A row is claimed under a lease in a short transaction of its own and the
request is made outside any transaction, so a slow Alertmanager holds no lock
(on SQLite, the one write lock) while it answers; the outcome is recorded only
if the lease is still ours, and a row changed meanwhile is worked again.
A retryable failure backs off (5 s doubling up to 5 min).

Every plan, it also polls Alertmanager for the silenced alerts of incidents
and resolves those it no longer has (app/maintenance/behind.py).

The pass runs as a task beside the loop, never inside it: an Alertmanager that
hangs until the timeout delays no step and no page. Rows due wake the loop
through :meth:`SilenceSync.next_due`, as steps do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from app.db import is_unavailable
from app.events import AlertEvent
from app.maintenance import behind, requested, silences
from app.maintenance.ack_silences import plan_incidents
from app.maintenance.alertmanager import AlertmanagerClient, Outcome, silence_body
from app.models import silences_table
from app.runtime import Runtime
from app.transaction import unit_of_work, writing

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)
BACKOFF_FIRST = 5.0
BACKOFF_MAX = 300.0
_S = silences_table.c
_WORK = ("pending", "expiring")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX))


#: What the worker does with alerts Alertmanager no longer has (resolves them
#: through the pipeline, which this stage may not import).
OnGone = Callable[[list[AlertEvent]], Awaitable[object]]


class SilenceSync:
    def __init__(self, runtime: Runtime, on_gone: OnGone | None = None) -> None:
        self.runtime = runtime
        self.on_gone = on_gone
        urls = runtime.settings.alertmanager_url_list
        timeout = runtime.settings.alertmanager_timeout
        self.client = AlertmanagerClient(urls, timeout) if urls else None
        self._task: asyncio.Task[None] | None = None
        self._next_plan: datetime | None = None

    def kick(self) -> None:
        """Start a pass unless one is under way (or there is no Alertmanager)."""
        if self.client is None or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.create_task(self._pass(), name="klaxon-silence-sync")

    async def drain(self) -> None:
        """Wait for the pass under way (tests drive the worker with run_due)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def aclose(self, grace_seconds: float) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.client is not None:
            await self.client.aclose()

    async def next_due(self) -> datetime | None:
        if self.client is None:
            return None
        async with self.runtime.sessions() as session:
            due = (
                await session.execute(
                    select(func.min(_S.next_attempt_at)).where(
                        _S.state.in_(_WORK), _S.lease_until.is_(None)
                    )
                )
            ).scalar()
        dues = [d for d in (due, self._next_plan) if d is not None]
        return min(dues) if dues else None

    async def _pass(self) -> None:
        try:
            now = self.runtime.clock.now()
            if self._next_plan is None or now >= self._next_plan:
                async with writing(self.runtime.sessions) as session:
                    await silences.plan_all(session, self.runtime.settings, now)
                every = timedelta(seconds=self.runtime.settings.alertmanager_plan_seconds)
                self._next_plan = now + every
                await self._poll_resolutions(now)
            async with unit_of_work(self.runtime) as uow:
                await plan_incidents(
                    uow.session, self.runtime.rules.current, self.runtime.settings, now
                )
                await requested.lift_finished(uow.session, now)
                if await requested.remind_ending(uow.session, now):
                    uow.wake()  # the dispatcher sends them
            while await self._work_one():
                pass
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("silence sync: database unavailable")
            else:
                log.exception("silence sync failed")

    async def _poll_resolutions(self, now: datetime) -> None:
        """Resolve the silenced alerts Alertmanager no longer has (app/maintenance/behind.py)."""
        if self.client is None or self.on_gone is None:
            return
        async with self.runtime.sessions() as session:
            alerts = await behind.silenced_alerts(session)
        gone = await behind.gone_upstream(self.client, alerts, now=now)
        if gone:
            log.info("%d silenced alert(s) resolved in Alertmanager: resolving them", len(gone))
            await self.on_gone(gone)

    async def _work_one(self) -> bool:
        """Claim one due row, talk to Alertmanager, record; False when none is due."""
        assert self.client is not None
        now = self.runtime.clock.now()
        async with writing(self.runtime.sessions) as session:
            row = (
                await session.execute(
                    select(silences_table)
                    .where(
                        _S.state.in_(_WORK),
                        _S.next_attempt_at <= now,
                        or_(_S.lease_until.is_(None), _S.lease_until <= now),
                    )
                    .order_by(_S.next_attempt_at, _S.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                return False
            lease = now + LEASE
            await session.execute(
                update(silences_table).where(_S.id == row.id).values(lease_until=lease)
            )
        outcome = await self._send(row, now)
        await self._record(row, lease, outcome)
        return True

    async def _send(self, row: Any, now: datetime) -> Outcome:
        assert self.client is not None
        if row.ends_at <= now:
            # Over: Alertmanager expires it itself, and refuses an end in the past.
            return Outcome(ok=True, silence_id=None)
        if row.state == "expiring":
            if row.alertmanager_id is None:
                return Outcome(ok=True)
            return await self.client.expire_silence(row.alertmanager_id)
        body = silence_body(
            row.matchers, row.starts_at, row.ends_at, row.comment, row.alertmanager_id
        )
        return await self.client.put_silence(body)

    async def _record(self, row: Any, lease: datetime, outcome: Outcome) -> None:
        now = self.runtime.clock.now()
        async with writing(self.runtime.sessions) as session:
            current = (
                await session.execute(
                    select(silences_table).where(_S.id == row.id).with_for_update()
                )
            ).first()
            if current is None:
                return
            values: dict[str, Any] = {"updated_at": now}
            if row.state == "pending" and outcome.silence_id is not None:
                values["alertmanager_id"] = outcome.silence_id
            if current.lease_until != lease:
                # Changed while we asked: worked again. A silence just made for
                # a row no longer wanted must still be expired.
                if "alertmanager_id" in values and current.state == "expired":
                    values.update(state="expiring", next_attempt_at=now)
                await _update(session, row.id, values)
                return
            values["lease_until"] = None
            if outcome.ok:
                done = "synced" if row.state == "pending" and row.ends_at > now else "expired"
                values.update(state=done, attempts=0, last_error=None, synced_at=now)
            elif outcome.retryable:
                attempts = current.attempts + 1
                values.update(
                    attempts=attempts,
                    next_attempt_at=now + backoff(attempts),
                    last_error=(outcome.error or "")[:500],
                )
                log.warning("alertmanager silence %s: %s (try %d)", row.id, outcome.error, attempts)
            else:
                values.update(state="rejected", last_error=(outcome.error or "")[:500])
                log.error("alertmanager refused silence %s: %s", row.id, outcome.error)
            await _update(session, row.id, values)


async def _update(session: Any, row_id: int, values: dict[str, Any]) -> None:
    await session.execute(update(silences_table).where(and_(_S.id == row_id)).values(**values))
