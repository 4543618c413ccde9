"""Firing due escalation steps: one stage of the worker (app/worker.py).

Steps are rows with due times. Each is fired in a transaction of its own that
holds the step row with ``FOR UPDATE SKIP LOCKED`` (the lock is the lease:
a replica that dies mid-step drops its connection and the lock with it), so
any number of replicas can run and each step fires once. Firing a step writes
its notifications (through the outbox, app/notify/outbox.py) and schedules the
next step in that same transaction, and the unique constraints on both make a
repeat impossible. A step that fails is tried again after :data:`_STEP_RETRY`;
a database that is down stops the stage (the worker's loop says so).

What a step does, in order: a step of an incident no longer triggered is
cancelled; a maintenance window holds it; the policy (or ``default`` instead
of a missing one) names an action to run, or channels and people to page;
the next step is scheduled, or the policy is exhausted. Every decision is a
timeline line, so an incident that was not paged says why.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.approval import OFFER, offer_for
from app.automation.steps import run_action_step
from app.claim import first_due
from app.db import insert_for, is_unavailable
from app.escalation import store as policy_store
from app.escalation.policy import PolicySpec
from app.maintenance import quiet
from app.metrics import POLICY_MISSING, STEP_LAG, UNPAGED
from app.models import incidents_table, steps_table
from app.notify import outbox
from app.notify.links import with_link
from app.notify.page_info import page_info
from app.notify.texts import page_sms
from app.oncall import store
from app.oncall.rotation import who_is_on_call
from app.runtime import Runtime
from app.timeline import event_row, record
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
_STEP_RETRY = timedelta(seconds=30)
_S = steps_table.c


def _said(
    number: int, kind: str, message: str, now: datetime, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A timeline line written by Klaxon itself."""
    return event_row(number, kind, message, at=now, actor="klaxon", data=data)


async def fire_due(runtime: Runtime) -> int:
    """Fire due steps with a few concurrent workers (SKIP LOCKED keeps them
    apart); SQLite has one writer, so one worker there. Returns how many."""
    workers = 1 if runtime.settings.is_sqlite else runtime.settings.engine_workers
    per_worker = max(runtime.settings.engine_batch // workers, 1)
    # One look first: an idle engine, polled twice a second, costs one
    # transaction here rather than one per worker; and it says whether another
    # step is due, so a lone one (a new incident's first) is not followed by a
    # look per worker before its page can go out.
    first, more = await _fire_one(runtime, look_ahead=True)
    if not first:
        return 0
    if not more:
        return 1
    counts = await asyncio.gather(*(_fire_steps(runtime, per_worker) for _ in range(workers)))
    return 1 + sum(counts)


async def _fire_steps(runtime: Runtime, limit: int) -> int:
    fired = 0
    while fired < limit and (await _fire_one(runtime))[0]:
        fired += 1
    return fired


async def _fire_one(runtime: Runtime, *, look_ahead: bool = False) -> tuple[bool, bool]:
    """Fire the first due step no other transaction holds, in a transaction of
    its own. Says whether there was one and, with ``look_ahead``, whether
    another is due (held by another replica or not: a look too many is cheap).

    A step that fails rolls its whole transaction back (nothing half-written)
    and is put off by :data:`_STEP_RETRY` in one of its own: no savepoint
    around every step, two round trips on each page's way, for the rare one
    that fails."""
    now = runtime.clock.now()
    due = (_S.status == "pending") & (_S.due_at <= now)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        step = await first_due(session, steps_table, due, (_S.due_at, _S.id))
        if step is None:
            return False, False
        try:
            await _fire(runtime, session, step, now)
        except Exception as exc:
            if is_unavailable(exc):
                raise
            log.exception("escalation step %s of #%s failed", step.id, step.incident_number)
            uow.discard()
        else:
            if not look_ahead:
                return True, False
            another = select(_S.id).where(due & (_S.id != step.id)).limit(1)
            return True, (await session.execute(another)).first() is not None
    async with unit_of_work(runtime) as uow:
        # Unless another replica took it meanwhile (and fired it, or failed too).
        await uow.session.execute(
            update(steps_table)
            .where((_S.id == step.id) & (_S.status == "pending") & (_S.due_at == step.due_at))
            .values(due_at=now + _STEP_RETRY)
        )
    return True, look_ahead


async def _fire(runtime: Runtime, session: AsyncSession, step: Any, now: datetime) -> None:
    STEP_LAG.observe(max((now - step.due_at).total_seconds(), 0.0))
    number = step.incident_number
    incident = (
        await session.execute(select(incidents_table).where(incidents_table.c.number == number))
    ).one()
    if incident.status != "triggered":
        await _finish(session, step, "cancelled", now)
        return
    if await quiet.hold_step(session, step, incident, now=now):
        return  # a maintenance window holds it: due again at the window's end
    timeline: list[dict[str, Any]] = await quiet.over_lines(session, number, now=now)
    policy = await policy_store.get_policy(session, step.policy)
    if policy is None:
        policy = await _instead_of_missing(session, step, now, timeline)
    if policy is None or step.step_index >= len(policy.steps):
        UNPAGED.labels("no_policy").inc()
        missing = f"NOT PAGED: escalation policy {step.policy} does not exist (nor 'default')"
        timeline.append(_said(number, "not_paged", missing, now))
        await record(session, timeline)
        await _finish(session, step, "skipped", now)
        return
    spec = policy.steps[step.step_index]
    label = f"Step {step.step_index + 1}" + (f" (round {step.round + 1})" if step.round else "")
    rules = runtime.rules.current
    allowed = rules.channels_for(incident.severity)
    channels = [c for c in spec.channels if c in allowed]
    responders = await _targets(
        session, spec.targets.schedules, spec.targets.responders, now, number, timeline
    )
    paged = False  # or ran an action: the next step waits either way
    if spec.run is not None:
        paged, ran = await run_action_step(
            session, rules, incident, spec.run, wait=spec.waits(), label=label, now=now
        )
        timeline += ran
    elif not channels:
        UNPAGED.labels("no_channel").inc()
        skipped = (
            f"{label} skipped: {incident.severity} pages on none of its channels "
            f"({', '.join(spec.channels)})"
        )
        timeline.append(_said(number, "step_skipped", skipped, now))
    elif not responders:
        UNPAGED.labels("nobody_on_call").inc()
        nobody = f"{label} skipped: nobody on call"
        data = {"schedules": spec.targets.schedules}
        timeline.append(_said(number, "step_skipped", nobody, now, data))
    else:
        offer = offer_for(rules, spec.offer, incident)
        if spec.offer and offer is None:
            missing = f"{label}: action {spec.offer} is not in the rules file; not offered"
            timeline.append(_said(number, "warning", missing, now))
        await _page(runtime, session, step, incident, responders, channels, now, offer)
        paged = True
        data = {"responders": [r.name for r in responders]}
        data |= {"channels": channels, OFFER: offer} if offer else {"channels": channels}
        paging = (
            f"{label}: paging {', '.join(r.name for r in responders)} by "
            f"{' and '.join(channels)}" + (f", offering action {offer}" if offer else "")
        )
        timeline.append(_said(number, "escalated", paging, now, data))
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
        exhausted = f"Escalation policy {policy.name} exhausted without acknowledgement"
        timeline.append(_said(number, "escalation_exhausted", exhausted, now))
    await record(session, timeline)
    await _finish(session, step, "done" if paged else "skipped", now)


async def _instead_of_missing(
    session: AsyncSession, step: Any, now: datetime, timeline: list[dict[str, Any]]
) -> PolicySpec | None:
    """The policy that pages when the step's own no longer exists (deleted after
    the rules that name it were loaded): ``default``, said on the timeline."""
    POLICY_MISSING.labels(step.policy).inc()
    if step.policy == "default":
        return None
    policy = await policy_store.get_policy(session, "default")
    if policy is not None:
        instead = (
            f"Escalation policy {step.policy} does not exist: paging through policy "
            f"{policy.name} instead"
        )
        data = {"missing_policy": step.policy, "policy": policy.name}
        timeline.append(_said(step.incident_number, "warning", instead, now, data))
    return policy


async def _targets(
    session: AsyncSession,
    schedules: list[str],
    names: list[str],
    now: datetime,
    number: int,
    timeline: list[dict[str, Any]],
) -> list[Any]:
    """The responders a step pages: who is on call now in each schedule, then
    the people it names, each once; a missing one is said on the timeline."""
    wanted: list[str] = []
    for name in schedules:
        schedule = await store.load_schedule(session, name)
        if schedule is None:
            timeline.append(_said(number, "warning", f"Schedule {name} does not exist", now))
            continue
        oncall = who_is_on_call(schedule, now)
        if oncall.responder is not None:
            wanted.append(oncall.responder)
    wanted += names
    unique = list(dict.fromkeys(wanted))
    found = await store.get_responders_by_name(session, unique)
    for name in unique:
        if name not in found:
            timeline.append(_said(number, "warning", f"Responder {name} does not exist", now))
    return [found[name] for name in unique if name in found]


async def _page(
    runtime: Runtime,
    session: AsyncSession,
    step: Any,
    incident: Any,
    responders: list[Any],
    channels: list[str],
    now: datetime,
    offer: str | None,
) -> None:
    settings = runtime.settings
    info = await page_info(
        session,
        incident,
        runtime.rules.current,
        offer=offer,
        alertmanager=bool(settings.alertmanager_url_list),
    )
    # Each SMS carries its responder's own signed console link (when enabled).
    bodies = {r.id: page_sms(with_link(info, settings, r.id, now)) for r in responders}
    await outbox.enqueue(
        session,
        (
            outbox.to(
                r, "page", channel, bodies[r.id], incident_number=incident.number, step_id=step.id
            )
            for r in responders
            for channel in channels
        ),
        now,
        once_per_step=True,
    )


async def _finish(session: AsyncSession, step: Any, status: str, now: datetime) -> None:
    await session.execute(
        update(steps_table).where(_S.id == step.id).values(status=status, finished_at=now)
    )
