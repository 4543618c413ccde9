"""The escalation engine: fires due steps and sends due notifications.

Steps are rows with due times. Each is fired in a transaction of its own that
holds the step row with ``FOR UPDATE SKIP LOCKED`` (the lock is the lease:
a replica that dies mid-step drops its connection and the lock with it), so
any number of replicas can run and each step fires once. Firing a step writes
its notifications and schedules the next step in that same transaction, and
the unique constraints on both make a repeat impossible.

Wake-ups are pushed: the webhook and the API call ``wake()`` after their
commit, so a new incident pages at once; otherwise the loop sleeps until the
earliest due time, at most ``engine_poll_seconds`` (which is what bounds the
delay for work committed by another replica). Tests drive ``run_due()``
themselves with a clock they advance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation import webhooks
from app.automation.approval import OFFER, offer_for
from app.automation.steps import run_action_step
from app.db import insert_for, is_unavailable, reading
from app.escalation import due as due_times
from app.escalation.due import Due
from app.escalation.housekeeping import Housekeeping
from app.escalation.policy import PolicySpec
from app.events import AlertEvent
from app.heartbeats import expiry as heartbeats
from app.maintenance import quiet, requested
from app.maintenance.sync import SilenceSync
from app.metrics import POLICY_MISSING, STEP_LAG, UNPAGED
from app.models import alerts_table, incidents_table, steps_table
from app.notify import outbox
from app.notify.dispatch import Dispatcher
from app.notify.links import with_link
from app.notify.outbound import Handler, OutboundSender
from app.notify.sender import Sender
from app.notify.texts import PageInfo, page_sms
from app.oncall import store
from app.oncall.rotation import who_is_on_call
from app.pipeline import process
from app.response import reminders
from app.rules import RulesFile
from app.rules.runbooks import find_runbook, incident_labels
from app.runtime import Runtime
from app.timeline import event_row, record

log = logging.getLogger(__name__)
_STEP_RETRY = timedelta(seconds=30)
# How long stop() lets the work in hand finish (a step being fired, a send
# being recorded) before it cuts it short.
STOP_GRACE_SECONDS = 5.0


class Engine:
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

    async def _run_due(self, *, wait_for_sends: bool) -> int:
        total = 0
        if wait_for_sends:
            total += await self.housekeeping.run()  # handoffs and repeat summaries
        else:
            self.housekeeping.kick()  # the same, beside the loop: never in a page's way
        self.silences.kick()  # Alertmanager silences, as a task of their own
        rt = self.runtime  # reminders: missed status updates (app/response/reminders.py)
        while True:
            # One statement says which stages have work (app/escalation/due.py):
            # an idle pass costs that and nothing else.
            found = self._due = await self._probe()
            now = rt.clock.now()
            done = 0
            if found.reached(found.heartbeats, now):
                done += await heartbeats.expire_due(rt)
            if found.reached(found.steps, now):
                done += await self._fire_due_steps()
            if found.reached(found.reminders, now):
                done += await reminders.send_due_reminders(rt.sessions, rt.rules.current, now)
            if found.reached(found.sends, now):
                done += await self.dispatcher.start_due()
            if found.webhooks_behind:
                done += await webhooks.forward_events(rt)
            if found.reached(found.outbound, now):
                done += await self.outbound.start_due()
            if done:
                # Steps fired, heartbeats expired, reminders sent: committed
                # changes that open console pages show (app/live.py).
                rt.changes.publish()
            if wait_for_sends:
                await self.dispatcher.drain()
                await self.outbound.drain()
            total += done
            if done == 0 or self._stopping:
                if wait_for_sends:
                    await self.silences.drain()
                return total

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

    # --- steps -----------------------------------------------------------

    async def _fire_due_steps(self) -> int:
        """Fire due steps with a few concurrent workers (SKIP LOCKED keeps them
        apart); SQLite has one writer, so one worker there."""
        workers = 1 if self.runtime.settings.is_sqlite else self.runtime.settings.engine_workers
        per_worker = max(self.runtime.settings.engine_batch // workers, 1)
        # One look first: an idle engine, polled twice a second, costs one
        # transaction here rather than one per worker.
        first = await self._fire_steps(1)
        if first == 0:
            return 0
        counts = await asyncio.gather(*(self._fire_steps(per_worker) for _ in range(workers)))
        return first + sum(counts)

    async def _fire_steps(self, limit: int) -> int:
        fired = 0
        while fired < limit:
            now = self.runtime.clock.now()
            s = steps_table.c
            async with self.runtime.sessions() as session, session.begin():
                step = (
                    await session.execute(
                        select(steps_table)
                        .where(s.status == "pending", s.due_at <= now)
                        .order_by(s.due_at, s.id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                ).first()
                if step is None:
                    return fired
                try:
                    async with session.begin_nested():
                        await self._fire(session, step, now)
                except Exception as exc:
                    if is_unavailable(exc):
                        raise
                    log.exception("escalation step %s of #%s failed", step.id, step.incident_number)
                    await session.execute(
                        update(steps_table).where(s.id == step.id).values(due_at=now + _STEP_RETRY)
                    )
            fired += 1
        return fired

    async def _fire(self, session: AsyncSession, step: Any, now: datetime) -> None:
        STEP_LAG.observe(max((now - step.due_at).total_seconds(), 0.0))
        number = step.incident_number
        incident = (
            await session.execute(select(incidents_table).where(incidents_table.c.number == number))
        ).one()
        if incident.status != "triggered":
            await self._finish(session, step, "cancelled", now)
            return
        if await quiet.hold_step(session, step, incident, now=now):
            return  # a maintenance window holds it: due again at the window's end
        timeline: list[dict[str, Any]] = await quiet.over_lines(session, number, now=now)
        policy = await store.get_policy(session, step.policy)
        if policy is None:
            policy = await self._instead_of_missing(session, step, now, timeline)
        if policy is None or step.step_index >= len(policy.steps):
            UNPAGED.labels("no_policy").inc()
            timeline.append(
                event_row(
                    number,
                    "not_paged",
                    f"NOT PAGED: escalation policy {step.policy} does not exist (nor 'default')",
                    at=now,
                    actor="klaxon",
                )
            )
            await record(session, timeline)
            await self._finish(session, step, "skipped", now)
            return
        spec = policy.steps[step.step_index]
        label = f"Step {step.step_index + 1}" + (f" (round {step.round + 1})" if step.round else "")
        allowed = self.runtime.rules.current.channels_for(incident.severity)
        channels = [c for c in spec.channels if c in allowed]
        responders = await self._targets(
            session, spec.targets.schedules, spec.targets.responders, now, number, timeline
        )
        paged = False  # or ran an action: the next step waits either way
        if spec.run is not None:
            paged, ran = await run_action_step(
                session,
                self.runtime.rules.current,
                incident,
                spec.run,
                wait=spec.waits(),
                label=label,
                now=now,
            )
            timeline += ran
        elif not channels:
            UNPAGED.labels("no_channel").inc()
            timeline.append(
                event_row(
                    number,
                    "step_skipped",
                    f"{label} skipped: {incident.severity} pages on none of its channels "
                    f"({', '.join(spec.channels)})",
                    at=now,
                    actor="klaxon",
                )
            )
        elif not responders:
            UNPAGED.labels("nobody_on_call").inc()
            timeline.append(
                event_row(
                    number,
                    "step_skipped",
                    f"{label} skipped: nobody on call",
                    at=now,
                    actor="klaxon",
                    data={"schedules": spec.targets.schedules},
                )
            )
        else:
            offer = offer_for(self.runtime.rules.current, spec.offer, incident)
            if spec.offer and offer is None:
                missing = f"{label}: action {spec.offer} is not in the rules file; not offered"
                timeline.append(event_row(number, "warning", missing, at=now, actor="klaxon"))
            await self._page(session, step, incident, responders, channels, now, offer)
            paged = True
            data: dict[str, Any] = {"responders": [r.name for r in responders]}
            data |= {"channels": channels, OFFER: offer} if offer else {"channels": channels}
            timeline.append(
                event_row(
                    number,
                    "escalated",
                    f"{label}: paging {', '.join(r.name for r in responders)} by "
                    f"{' and '.join(channels)}" + (f", offering action {offer}" if offer else ""),
                    at=now,
                    actor="klaxon",
                    data=data,
                )
            )
        following = policy.position_after(step.round, step.step_index)
        if following is not None:
            # A step that paged waits its delay; a skipped one is not waited out.
            due = now + spec.waits() if paged else now
            await session.execute(
                insert_for(session, steps_table)
                .values(
                    incident_number=number,
                    # The policy that paged: a missing one is reported once.
                    policy=policy.name,
                    round=following[0],
                    step_index=following[1],
                    due_at=due,
                    status="pending",
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["incident_number", "round", "step_index"])
            )
        else:
            timeline.append(
                event_row(
                    number,
                    "escalation_exhausted",
                    f"Escalation policy {policy.name} exhausted without acknowledgement",
                    at=now,
                    actor="klaxon",
                )
            )
        await record(session, timeline)
        await self._finish(session, step, "done" if paged else "skipped", now)

    async def _instead_of_missing(
        self, session: AsyncSession, step: Any, now: datetime, timeline: list[dict[str, Any]]
    ) -> PolicySpec | None:
        """The policy that pages when the step's own no longer exists (deleted after
        the rules that name it were loaded): ``default``, said on the timeline."""
        POLICY_MISSING.labels(step.policy).inc()
        if step.policy == "default":
            return None
        policy = await store.get_policy(session, "default")
        if policy is not None:
            timeline.append(
                event_row(
                    step.incident_number,
                    "warning",
                    f"Escalation policy {step.policy} does not exist: paging through policy "
                    f"{policy.name} instead",
                    at=now,
                    actor="klaxon",
                    data={"missing_policy": step.policy, "policy": policy.name},
                )
            )
        return policy

    async def _targets(
        self,
        session: AsyncSession,
        schedules: list[str],
        names: list[str],
        now: datetime,
        number: int,
        timeline: list[dict[str, Any]],
    ) -> list[Any]:
        wanted: list[str] = []
        for name in schedules:
            schedule = await store.load_schedule(session, name)
            if schedule is None:
                timeline.append(
                    event_row(
                        number, "warning", f"Schedule {name} does not exist", at=now, actor="klaxon"
                    )
                )
                continue
            oncall = who_is_on_call(schedule, now)
            if oncall.responder is not None:
                wanted.append(oncall.responder)
        wanted += names
        unique = list(dict.fromkeys(wanted))
        found = await store.get_responders_by_name(session, unique)
        for name in unique:
            if name not in found:
                timeline.append(
                    event_row(
                        number,
                        "warning",
                        f"Responder {name} does not exist",
                        at=now,
                        actor="klaxon",
                    )
                )
        return [found[name] for name in unique if name in found]

    async def _page(
        self,
        session: AsyncSession,
        step: Any,
        incident: Any,
        responders: list[Any],
        channels: list[str],
        now: datetime,
        offer: str | None,
    ) -> None:
        rt = self.runtime
        info = await page_info(
            session,
            incident,
            rt.rules.current,
            offer=offer,
            alertmanager=bool(rt.settings.alertmanager_url_list),
        )
        # Each SMS carries its responder's own signed console link (when enabled).
        bodies = {r.id: page_sms(with_link(info, rt.settings, r.id, now)) for r in responders}
        await outbox.enqueue(
            session,
            (
                outbox.to(
                    r,
                    "page",
                    channel,
                    bodies[r.id],
                    incident_number=incident.number,
                    step_id=step.id,
                )
                for r in responders
                for channel in channels
            ),
            now,
            once_per_step=True,
        )

    async def _finish(self, session: AsyncSession, step: Any, status: str, now: datetime) -> None:
        await session.execute(
            update(steps_table)
            .where(and_(steps_table.c.id == step.id))
            .values(status=status, finished_at=now)
        )


async def page_info(
    session: AsyncSession,
    incident: Any,
    rules: RulesFile | None = None,
    *,
    offer: str | None = None,
    alertmanager: bool = False,
) -> PageInfo:
    """What a page says: the incident's current title (a commander's retitle
    included), and from its worst firing alert the description (else summary)
    and runbook URL, else the rules file's runbook (a URL or a text). With
    ``alertmanager`` (Klaxon has Alertmanager URLs) it offers ``42S1h`` for an
    incident with a firing alert from Alertmanager."""
    a = alerts_table.c
    alert = (
        await session.execute(
            select(a.annotations)
            .where(a.incident_number == incident.number)
            .order_by(a.severity, a.id)
            .limit(1)
        )
    ).first()
    annotations: dict[str, str] = dict(alert.annotations) if alert is not None else {}
    title = str(incident.title)
    summary = annotations.get("description") or annotations.get("summary")
    if summary == title:
        summary = None
    runbook_url = annotations.get("runbook_url") or None
    runbook_text = None
    if runbook_url is None and rules is not None:
        found = find_runbook(rules, incident_labels(incident.labels, incident.service))
        if found is not None:
            runbook_url, runbook_text = found.url, found.text
    return PageInfo(
        number=incident.number,
        severity=incident.severity,
        title=title,
        service=incident.service,
        summary=summary,
        runbook_url=runbook_url,
        runbook_text=runbook_text,
        offer=offer,
        offer_silence=alertmanager and await requested.from_alertmanager(session, incident.number),
    )
