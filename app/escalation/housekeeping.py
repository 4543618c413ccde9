"""Timers that are not escalation steps, run by the engine between its steps:
on-call handoffs, the timeline's summaries of deduplicated repeats, and the
pruning of history past its retention (app/incidents/retention.py).

Both keep their progress in the database (a mark per schedule, a count per
incident, each moved by compare-and-set), so they are durable across
restarts and run once across replicas. They are cheap but not free, so the
engine runs them at most every :data:`EVERY` of its clock.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from app.db import is_unavailable
from app.incidents.retention import prune_history
from app.ingest.repeat_summary import summarize_repeats
from app.response.handoff import send_due_handoffs
from app.runtime import Runtime

log = logging.getLogger(__name__)

EVERY = timedelta(seconds=15)


class Housekeeping:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._next: datetime | None = None

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
