"""Timers that are not escalation steps, run by the worker (app/worker.py):
on-call handoffs, the timeline's summaries of deduplicated repeats, and the
pruning of history past its retention (app/incidents/retention.py).

Both keep their progress in the database (a mark per schedule, a count per
incident, each moved by compare-and-set), so they are durable across
restarts and run once across replicas. They are cheap but not free, so the
worker runs them at most every :data:`EVERY` of its clock.

Under load they are not cheap enough to run inside a pass of the loop: the
repeat summaries read every open incident's alerts, and a pass that waits for
them holds back every step and page that falls due meanwhile (a first page
seconds late at 200 webhooks/s, issue 13). The loop therefore starts them as
a task of their own (:meth:`Housekeeping.kick`), which wakes it when done;
tests that drive the worker with ``run_due`` still wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.db import is_unavailable
from app.incidents.retention import prune_history
from app.ingest.repeat_summary import summarize_repeats
from app.response.handoff import send_due_handoffs
from app.runtime import Runtime

log = logging.getLogger(__name__)

EVERY = timedelta(seconds=15)


class Housekeeping:
    def __init__(self, runtime: Runtime, on_done: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self._next: datetime | None = None
        self._on_done = on_done  # wakes the worker: handoffs queue texts to send
        self._task: asyncio.Task[int] | None = None

    def kick(self) -> None:
        """Start a run beside the loop when one is due and none is under way."""
        if self._task is not None and not self._task.done():
            return
        if self._next is not None and self.runtime.clock.now() < self._next:
            return
        self._task = asyncio.create_task(self._run_beside(), name="klaxon-housekeeping")

    async def _run_beside(self) -> int:
        try:
            done = await self.run()
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("housekeeping: database unavailable")
            else:
                log.exception("housekeeping failed")
            return 0
        if done and self._on_done is not None:
            self._on_done()
        return done

    async def aclose(self, grace_seconds: float) -> None:
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), grace_seconds)
            self._task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> int:
        """Queue due handoffs and write due repeat summaries; returns how many."""
        now = self.runtime.clock.now()
        if self._next is not None and now < self._next:
            return 0
        self._next = now + EVERY
        done = 0
        try:
            done += await send_due_handoffs(self.runtime.sessions, self.runtime.rules.current, now)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            log.exception("handoffs failed")
        try:
            done += await summarize_repeats(self.runtime.sessions, now)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            log.exception("repeat summaries failed")
        try:
            pruned = await prune_history(
                self.runtime.sessions, now, self.runtime.settings.retention_days
            )
        except Exception as exc:
            if is_unavailable(exc):
                raise
            log.exception("pruning history failed")
        else:
            if pruned:
                log.info("pruned %d rows of history past its retention", pruned)
        return done
