"""The worker: Klaxon's durable timers, in the order they run.

``app/pipeline.py`` spells what happens to a notification that comes in; this
module spells what happens as time passes. Every timer is a row with a due
time, so nothing is lost across restarts, and each stage claims its own work
(``SKIP LOCKED``, leases), so any number of replicas can run. A pass, in
:meth:`Worker._run_stages`:

1. housekeeping, beside the loop: shift handoffs, repeat summaries, pruning
   (app/timers/housekeeping.py), and Alertmanager silences (app/maintenance/
   sync.py) — tasks of their own, never in a page's way;
2. heartbeat expiry (app/heartbeats/expiry.py), whose alerts go through the
   pipeline like any other;
3. due escalation steps (app/escalation/steps.py), which queue pages;
4. reminders of missed status updates (app/response/reminders.py);
5. due sends of the outbox (app/notify/dispatch.py), SMS and calls;
6. outgoing webhooks for timeline events (app/automation/webhooks.py), then
   the outbound queue: chat posts, webhooks, actions (app/notify/outbound.py).

One statement says which of them have work (app/timers/due.py), so an idle
pass costs that and nothing else; passes repeat until nothing is due.

Wake-ups are pushed: the boundary (app/transaction.py) calls ``wake()`` after
a commit that made work due, so a new incident pages at once; otherwise the
loop sleeps until the earliest due time, at most ``engine_poll_seconds``
(which is what bounds the delay for work committed by another replica).
Tests drive ``run_due()`` themselves with a clock they advance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping

from app.automation import webhooks
from app.db import is_unavailable, reading
from app.escalation import steps
from app.events import AlertEvent
from app.heartbeats import expiry
from app.maintenance.sync import SilenceSync
from app.notify.dispatch import Dispatcher
from app.notify.outbound import Handler, OutboundSender
from app.notify.sender import Sender
from app.pipeline import process
from app.response import reminders
from app.runtime import Runtime
from app.timers import due as due_times
from app.timers.due import Due
from app.timers.housekeeping import Housekeeping

log = logging.getLogger(__name__)
# How long stop() lets the work in hand finish (a step being fired, a send
# being recorded) before it cuts it short.
STOP_GRACE_SECONDS = 5.0


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        sender: Sender,
        *,
        owner: str | None = None,
        outbound: Mapping[str, Handler] | None = None,
    ) -> None:
        self.runtime = runtime
        self.owner = owner or f"klaxon-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        # A number's sends, once recorded, may have left a retry or a held-back page.
        self.dispatcher = Dispatcher(
            runtime, sender, owner=self.owner, on_done=self._sends_recorded
        )
        # Chat posts, webhooks, actions: the handlers this replica has, by kind.
        self.outbound = OutboundSender(runtime, outbound or {}, owner=self.owner)
        self.housekeeping = Housekeeping(runtime, on_done=self.wake)
        # Alertmanager silences: reconciled beside the loop, never in its way.
        self.silences = SilenceSync(runtime, on_gone=self._resolve_gone)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._due: Due | None = None  # what the last look of a pass found

    # --- the order -------------------------------------------------------

    async def _run_due(self, *, wait_for_sends: bool) -> int:
        total = 0
        if wait_for_sends:
            total += await self.housekeeping.run()
        else:
            self.housekeeping.kick()  # beside the loop: never in a page's way
        self.silences.kick()  # Alertmanager silences, as a task of their own
        while True:
            # One statement says which stages have work: an idle pass costs that.
            found = self._due = await self._probe()
            done = await self._run_stages(found)
            if done:
                # Steps fired, heartbeats expired, reminders sent: committed
                # changes that open console pages show (app/live.py).
                self.runtime.changes.publish()
            if wait_for_sends:
                await self.dispatcher.drain()
                await self.outbound.drain()
            total += done
            if done == 0 or self._stopping:
                if wait_for_sends:
                    await self.silences.drain()
                return total

    async def _run_stages(self, found: Due) -> int:
        """The stages whose work ``found`` says is due, in their order."""
        rt = self.runtime
        now = rt.clock.now()
        done = 0
        if found.reached(found.heartbeats, now):
            done += await expiry.expire_due(rt, feed=process)
        fired = 0
        if found.reached(found.steps, now):
            fired = await steps.fire_due(rt)
            done += fired
        if found.reached(found.reminders, now):
            done += await reminders.send_due_reminders(rt.sessions, rt.rules.current, now)
        if fired or found.reached(found.sends, now):
            # Steps that fired queued pages: they go out in this pass.
            done += await self.dispatcher.start_due()
        if found.webhooks_behind:
            forward = webhooks.forward_events if found.webhooks_heard else webhooks.pass_unheard
            done += await forward(rt)
        if found.reached(found.outbound, now):
            done += await self.outbound.start_due()
        return done

    # --- running ---------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def _sends_recorded(self) -> None:
        """A number's sends are recorded (committed): the loop may have a retry
        or a held-back page to send, and open console pages show the sends."""
        self.runtime.changes.publish()
        self.wake()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="klaxon-engine")

    async def stop(self) -> None:
        """Stop after the work in hand: a step half-fired or a page sent but not
        yet recorded would otherwise be done again when its lease expires (a
        second SMS), and a transaction cut short mid-statement can leave its
        connection, and on SQLite the write lock, behind. Work that takes
        longer than ``STOP_GRACE_SECONDS`` is cut short all the same."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.dispatcher.aclose(grace_seconds=STOP_GRACE_SECONDS)
        await self.outbound.aclose(grace_seconds=STOP_GRACE_SECONDS)
        await self.silences.aclose(STOP_GRACE_SECONDS)
        await self.housekeeping.aclose(STOP_GRACE_SECONDS)
        self._stopping = False

    async def run_due(self) -> int:
        """Expire every due heartbeat, fire every due step and send every due
        notification, until nothing is due; returns how much was done. Waits for
        the sends it started (tests drive this with a clock they advance)."""
        return await self._run_due(wait_for_sends=True)

    async def _probe(self) -> Due:
        async with reading(self.runtime.engine) as conn:
            return await due_times.probe(
                conn,
                self.runtime.rules.current,
                not_in_flight=self.dispatcher.not_in_flight(),
                outbound_kinds=list(self.outbound.handlers),
            )

    async def one_pass(self) -> float:
        """One pass of the loop: start what is due; returns the seconds to sleep
        until the next due time (at most ``engine_poll_seconds``). Sends go on in
        the background: a slow Twilio never makes a due step wait. Each number's
        outcome, once recorded, wakes the loop."""
        await self._run_due(wait_for_sends=False)
        # The pass ended on a look that found nothing more to do: its due times
        # are the sleep's, read again only if another stage is due sooner.
        return await self._sleep(self._due, self.runtime.settings.engine_poll_seconds)

    async def _loop(self) -> None:
        poll = self.runtime.settings.engine_poll_seconds
        while not self._stopping:
            self._wake.clear()
            try:
                timeout = await self.one_pass()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("escalation engine error")
                else:
                    log.warning("escalation engine: database unavailable")
                timeout = poll
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _resolve_gone(self, events: list[AlertEvent]) -> None:
        """Alerts resolved behind a silence (Alertmanager sent no resolution)."""
        await process(self.runtime, events, actor="klaxon (alertmanager poll)")

    async def _seconds_until_due(self, ceiling: float) -> float:
        return await self._sleep(await self._probe(), ceiling)

    async def _sleep(self, found: Due | None, ceiling: float) -> float:
        if found is None:
            found = await self._probe()
        earliest = found.earliest()
        silence_due = await self.silences.next_due()  # None without an Alertmanager
        dues = [d for d in (earliest, silence_due) if d is not None]
        if not dues:
            return ceiling
        wait = (min(dues) - self.runtime.clock.now()).total_seconds()
        return min(max(wait, 0.0), ceiling)
