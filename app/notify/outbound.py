"""The outbound queue: every outgoing HTTP message that is not an SMS or a
call — a chat post, a webhook, an action sent to an executor.

A message is a row of ``outbound_messages``, written by :func:`enqueue` in the
transaction that decided it, so that it exists if and only if the decision
was committed; ``(kind, key)`` is unique, so a decision taken twice (a step
fired again, an event redelivered) queues one message. After the commit the
engine's loop runs :class:`OutboundSender`: it claims due rows under a lease
(``FOR UPDATE SKIP LOCKED``, like the SMS dispatcher), hands each to the
handler registered for its kind, and records the outcome: ``sent``, or back
to ``pending`` later by :func:`retry_delay`, or ``failed`` once retrying
cannot help (the handler says so, the message's deadline would pass, or
``MAX_ATTEMPTS`` is reached). Outcomes of messages about an incident go on
its timeline.

Handlers run as tasks of their own: a slow or dead receiver never holds up
the engine, which goes on firing steps and sending pages. A replica that dies
holding a claim loses it when the lease expires; the message then goes again,
so receivers get an idempotency key (the message's ``key``) to drop a repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for, is_unavailable
from app.metrics import OUTBOUND
from app.models import outbound_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.notify.texts import gsm7_segments, to_gsm7
from app.runtime import Runtime
from app.text import clip
from app.timeline import event_row, record
from app.transaction import writing

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20
LEASE = timedelta(minutes=2)  # longer than any handler's own timeout
_FIRST_RETRY = timedelta(seconds=5)
_MAX_RETRY = timedelta(minutes=10)
_RESULT_MAX = 500


@dataclass(frozen=True, slots=True)
class Outbound:
    """One queued message, as its handler receives it."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    incident_number: int | None
    attempts: int  # tries before this one
    created_at: datetime
    deadline: datetime | None


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a handler answers."""

    ok: bool
    summary: str  # one line, for the log and the timeline
    retry_after: float | None = None  # seconds, when the receiver said (a 429)
    final: bool = False  # a failure that retrying cannot fix
    timeline: bool = True  # put the summary on the incident's timeline


Handler = Callable[[Outbound], Awaitable[Delivered]]


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    now: datetime,
    incident_number: int | None = None,
    deadline: datetime | None = None,
    due_at: datetime | None = None,
) -> bool:
    """Queue a message in the caller's transaction; False when ``(kind, key)``
    is already queued (the decision was taken before)."""
    statement = (
        insert_for(session, outbound_table)
        .values(
            kind=kind,
            key=key,
            payload=payload,
            incident_number=incident_number,
            state="pending",
            attempts=0,
            due_at=due_at or now,
            deadline=deadline,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["kind", "key"])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry_delay(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait before try ``attempts + 1``: what the receiver asked for
    (within a second and an hour), else 5 s doubling up to 10 minutes."""
    if retry_after is not None:
        return timedelta(seconds=min(max(retry_after, 1.0), 3600.0))
    return min(_FIRST_RETRY * (1 << min(attempts, 16)), _MAX_RETRY)


def next_state(message: Outbound, result: Delivered, now: datetime) -> tuple[str, datetime | None]:
    """The state after a try, and when the next try is due (None when none is)."""
    if result.ok:
        return "sent", None
    tries = message.attempts + 1
    if result.final or tries >= MAX_ATTEMPTS:
        return "failed", None
    due = now + retry_delay(message.attempts, result.retry_after)
    if message.deadline is not None and due > message.deadline:
        return "failed", None
    return "pending", due


def _timeline_text(result: Delivered, state: str, due: datetime | None) -> str:
    if state == "sent":
        return result.summary
    if state == "pending" and due is not None:
        return f"{result.summary}; trying again at {due:%H:%M:%S} UTC"
    return f"{result.summary}; given up"


def result_sms(number: int | None, text: str) -> str:
    """An outcome texted to whoever asked for the message, in one GSM-7 segment."""
    body = to_gsm7(f"[Klaxon] #{number} {text}")
    while gsm7_segments(body) > 1:
        body = body[:-4] + "..."
    return body


async def text_back(
    session: AsyncSession, payload: Mapping[str, Any], number: int | None, text: str, now: datetime
) -> None:
    """Text ``text`` to the ``reply_to`` a message's payload names (a responder who
    approved an action by SMS, app/automation/approval.py), in the caller's
    transaction: the one that records the outcome, so it is texted once."""
    to = payload.get("reply_to")
    if not to:
        return
    sms = Outgoing(
        kind="action_result",
        channel="sms",
        to_number=str(to["phone"]),
        responder_name=str(to["name"]),
        responder_id=to.get("id"),
        incident_number=number,
        body=result_sms(number, text),
    )
    await outbox.enqueue(session, [sms], now)


class OutboundSender:
    """Sends due outbound messages through the handlers given, one task each."""

    def __init__(self, runtime: Runtime, handlers: Mapping[str, Handler], *, owner: str) -> None:
        self.runtime = runtime
        self.handlers = dict(handlers)
        self.owner = owner
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(runtime.settings.engine_workers)

    def _due(self, now: datetime) -> Any:
        o = outbound_table.c
        return and_(
            o.kind.in_(sorted(self.handlers)),
            or_(
                and_(o.state == "pending", o.due_at <= now),
                and_(o.state == "sending", o.lease_until < now),
            ),
        )

    async def next_due(self) -> datetime | None:
        """When a message this replica can send is next due."""
        if not self.handlers:
            return None
        o = outbound_table.c
        dues = []
        async with self.runtime.sessions() as session:
            # A pending message when due; a claimed one when its lease ends.
            for state, when in (("pending", o.due_at), ("sending", o.lease_until)):
                due = (
                    await session.execute(
                        select(when)
                        .where(o.kind.in_(sorted(self.handlers)), o.state == state)
                        .order_by(when)
                        .limit(1)
                    )
                ).scalar()
                if due is not None:
                    dues.append(due)
        return min(dues) if dues else None

    async def start_due(self) -> int:
        """Claim what is due and start sending it; returns how many were claimed."""
        if not self.handlers:
            return 0
        claimed = await self._claim()
        for message in claimed:
            task = asyncio.create_task(self._send(message), name=f"klaxon-{message.kind}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def drain(self) -> None:
        """Wait until every message started here is recorded."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def aclose(self, grace_seconds: float = 0.0) -> None:
        tasks = list(self._tasks)
        if tasks and grace_seconds > 0:
            await asyncio.wait(tasks, timeout=grace_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim(self) -> list[Outbound]:
        o = outbound_table.c
        now = self.runtime.clock.now()
        async with writing(self.runtime.sessions) as session:
            rows = (
                await session.execute(
                    select(
                        o.id,
                        o.kind,
                        o.key,
                        o.payload,
                        o.incident_number,
                        o.attempts,
                        o.created_at,
                        o.deadline,
                    )
                    .where(self._due(now))
                    .order_by(o.due_at, o.id)
                    .limit(self.runtime.settings.engine_batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(
                    update(outbound_table)
                    .where(o.id.in_([r.id for r in rows]))
                    .values(
                        state="sending",
                        lease_owner=self.owner,
                        lease_until=now + LEASE,
                        updated_at=now,
                    )
                )
        return [Outbound(**row._asdict()) for row in rows]

    async def _send(self, message: Outbound) -> None:
        async with self._slots:
            try:
                result = await self.handlers[message.kind](message)
            except Exception as exc:  # a handler's bug must not stop the queue
                log.exception("outbound %s %s: handler failed", message.kind, message.key)
                result = Delivered(ok=False, summary=f"{message.kind} failed: {type(exc).__name__}")
        try:
            await self._record(message, result)
        except Exception as exc:
            # The claim stays; the message goes again when its lease expires.
            if is_unavailable(exc):
                log.warning("outbound: database unavailable")
            else:
                log.exception("outbound: recording failed")

    async def _record(self, message: Outbound, result: Delivered) -> None:
        now = self.runtime.clock.now()
        state, due = next_state(message, result, now)
        o = outbound_table.c
        async with writing(self.runtime.sessions) as session:
            values: dict[str, Any] = {
                "state": state,
                "attempts": message.attempts + 1,
                "last_result": clip(result.summary, _RESULT_MAX),
                "lease_owner": None,
                "lease_until": None,
                "updated_at": now,
            }
            if due is not None:
                values["due_at"] = due
            updated = await session.execute(
                update(outbound_table)
                .where(o.id == message.id, o.state == "sending", o.lease_owner == self.owner)
                .values(**values)
            )
            if not updated.rowcount:  # type: ignore[attr-defined]
                return  # our lease expired and another replica took it over
            if message.incident_number is not None and result.timeline:
                await record(
                    session,
                    [
                        event_row(
                            message.incident_number,
                            f"outbound_{state}",
                            _timeline_text(result, state, due),
                            at=now,
                            actor="klaxon",
                            data={"kind": message.kind, "key": message.key},
                        )
                    ],
                )
            if state in ("sent", "failed"):
                said = result.summary + ("" if state == "sent" else "; given up")
                await text_back(session, message.payload, message.incident_number, said, now)
        OUTBOUND.labels(message.kind, "retrying" if state == "pending" else state).inc()
        self.runtime.wake()  # a retry may be due before the loop's next look
