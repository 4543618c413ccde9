"""Sending due notifications: claim under a lease, throttle, bundle, send, record.

A notification is claimed (``state = 'sending'``, a lease owner and expiry)
in a short transaction with ``FOR UPDATE SKIP LOCKED``, so replicas never
claim the same one; sent outside any transaction; and its outcome recorded in
another. A replica that dies holding a claim loses it when the lease expires,
and the page goes out from another replica. The one window for a double page
is a crash after Twilio accepted the request and before the outcome was
committed: one HTTP round trip plus one commit. A database that is down when
the outcome is to be recorded does not widen it: the outcome is recorded
again and again while the claim holds.

Each number's sends run as a task of their own, at most ``engine_workers`` at
once, so a Twilio request that hangs until its timeout holds up neither the
pages to other numbers nor the engine, which goes on firing due steps. While
a number has a send in flight, nothing more is claimed for it: its next
messages are throttled and bundled knowing that send's outcome.

Per destination number at most ``throttle_sms`` SMS and ``throttle_calls``
calls go out per window (carriers block numbers that call too often), by the
rule of :mod:`app.notify.throttle`: a SEV1/SEV2 page is never held back and
takes what waits for the number along; lower pages wait for the window, never
dropped; notices yield to pages. A notice that is no longer true (a
"resolved" for an incident that reopened since) is not sent.

The rows' states change only through app/notify/outbox.py (claim, hand back,
hold back, cancel, sent, failed); a send's outcome is recorded by
app/notify/outcome.py, with the retry policy of app/notify/retry.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import is_unavailable
from app.models import incidents_table, notifications_table
from app.notify import outbox, outcome
from app.notify.outbox import Claimed
from app.notify.outcome import on_incidents
from app.notify.sender import Sender
from app.notify.texts import bundle_sms, notice_digest, with_more
from app.notify.throttle import URGENT, Sent, label, plan
from app.notify.twilio_client import SendResult
from app.runtime import Runtime
from app.settings import Settings
from app.timeline import event_row, record
from app.transaction import unit_of_work

log = logging.getLogger(__name__)


def _sms_text(message: list[Claimed], urgent: Callable[[Claimed], bool]) -> str:
    """One SMS for a message: a page (with what rides along), several pages as
    one bundle, a notice, or several notices as one digest."""
    first = message[0]
    if len(message) == 1:
        return first.body or ""
    pages = list(dict.fromkeys(m.incident_number or 0 for m in message if m.kind == "page"))
    notices = [label(m) for m in message if m.kind != "page"]
    if not pages:
        return notice_digest(notices)
    leads = [m for m in message if m.kind == "page" and urgent(m)]
    # Incidents are listed by number, not in the order their steps happened
    # to fire (several fire at once, each in its own transaction).
    if len(pages) == 1 or len({m.incident_number for m in leads}) == 1:
        return with_more(first.body or "", [f"#{p}" for p in sorted(pages[1:])] + notices)
    return with_more(bundle_sms(sorted(pages)), notices)


_Key = tuple[str, str]  # (to_number, channel)


def _to_any(keys: Iterable[_Key]) -> ColumnElement[bool]:
    """Notifications to any of these numbers, each on its channel."""
    n = notifications_table.c
    return or_(*(and_(n.to_number == number, n.channel == ch) for number, ch in sorted(keys)))


def _notice_key(item: Claimed) -> tuple[str, str, int | None, str]:
    return (item.to_number, item.channel, item.incident_number, item.kind)


@dataclass(frozen=True)
class _Batch:
    """What a number has to be sent on a channel, as claimed and screened."""

    items: list[Claimed]
    severity: dict[int, str]  # of the incidents the items are about
    sent: list[Sent]  # what went to the number within the throttle's window


class Dispatcher:
    def __init__(
        self,
        runtime: Runtime,
        sender: Sender,
        *,
        owner: str,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.sender = sender
        self.owner = owner
        self._on_done = on_done  # called when a number's sends are recorded
        self._sending: dict[_Key, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(runtime.settings.engine_workers)

    @property
    def _settings(self) -> Settings:
        return self.runtime.settings

    async def send_due(self) -> int:
        """Send what is due now and wait for it; returns how many notifications were
        claimed."""
        claimed = await self.start_due()
        await self.drain()
        return claimed

    async def start_due(self) -> int:
        """Claim what is due now and start sending it, each number in a task of its
        own; returns how many notifications were claimed."""
        claimed, batches = await self._claim()
        for key, batch in batches.items():
            task = asyncio.create_task(self._deliver_in_turn(key, batch), name="klaxon-send")
            self._sending[key] = task
            task.add_done_callback(functools.partial(self._delivered, key))
        return claimed

    async def drain(self) -> None:
        """Wait until every send started here is recorded."""
        while self._sending:
            await asyncio.wait(list(self._sending.values()))

    async def aclose(self, grace_seconds: float = 0.0) -> None:
        """Stop sending, after letting the sends in hand be recorded for up to
        ``grace_seconds``: a send cut short keeps its claim, which another replica
        (or this one, restarted) takes over when the lease expires."""
        tasks = list(self._sending.values())
        if tasks and grace_seconds > 0:
            await asyncio.wait(tasks, timeout=grace_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.aclose()

    async def _deliver_in_turn(self, key: _Key, batch: _Batch) -> None:
        waited = self._slots.locked()
        async with self._slots:
            if waited:
                # Sends to other numbers held every slot meanwhile: what was
                # screened at the claim may have been acknowledged or resolved.
                batch = await self._screen_again(batch)
            await self._deliver(key[0], key[1], batch)

    async def _screen_again(self, batch: _Batch) -> _Batch:
        async with unit_of_work(self.runtime) as uow:
            now = self.runtime.clock.now()
            items, severity = await self._screen(uow.session, batch.items, now)
        return _Batch(items, {**batch.severity, **severity}, batch.sent)

    def _delivered(self, key: _Key, task: asyncio.Task[None]) -> None:
        if self._sending.get(key) is task:
            del self._sending[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The claim stays; the page goes out again when its lease expires.
            if is_unavailable(exc):
                log.warning("sending: database unavailable")
            else:
                log.error("sending failed", exc_info=exc)
        if self._on_done is not None:
            self._on_done()

    def not_in_flight(self) -> ColumnElement[bool]:
        """Notifications to numbers this replica is not sending to right now."""
        return self._not_in_flight()

    def _not_in_flight(self) -> ColumnElement[bool]:
        return not_(_to_any(self._sending)) if self._sending else true()

    async def _claim(self) -> tuple[int, dict[_Key, _Batch]]:
        """Claim what is due, screen it, take along what waits for a number a
        SEV1/SEV2 page goes to, and read what went to these numbers within the
        throttle's window, in one transaction: a page's way from its step to
        Twilio is this and the send. Returns how many were claimed, and what is
        left to send by number."""
        now = self.runtime.clock.now()
        lease = now + timedelta(seconds=self._settings.send_lease_seconds)
        async with unit_of_work(self.runtime) as uow:
            claimed = await outbox.claim(
                uow.session,
                outbox.due_or_abandoned(now) & self._not_in_flight(),
                owner=self.owner,
                lease=lease,
                now=now,
                limit=self._settings.engine_batch,
            )
            if not claimed:
                return 0, {}
            items, severity = await self._screen(uow.session, claimed, now)
            urgent = {
                (i.to_number, i.channel)
                for i in items
                if i.kind == "page" and severity.get(i.incident_number or 0) in URGENT
            }
            if urgent:
                # A SEV1/SEV2 page goes now: what waits for its number (held
                # back by the throttle, or for a retry) goes with it.
                more = await self._claim_waiting(uow.session, urgent, lease, now)
                claimed += more
                more_items, more_severity = await self._screen(uow.session, more, now)
                items, severity = (
                    sorted(items + more_items, key=lambda i: i.id),
                    {
                        **severity,
                        **more_severity,
                    },
                )
            groups: dict[_Key, list[Claimed]] = defaultdict(list)
            for item in items:
                groups[(item.to_number, item.channel)].append(item)
            sent = await self._sent_within_window(uow.session, list(groups), now)
        return len(claimed), {
            key: _Batch(group, severity, sent.get(key, [])) for key, group in groups.items()
        }

    async def _deliver(self, number: str, channel: str, batch: _Batch) -> None:
        now = self.runtime.clock.now()
        items, severity = batch.items, batch.severity

        def urgent(item: Claimed) -> bool:
            return severity.get(item.incident_number or 0) in URGENT

        settings = self._settings
        decided = plan(
            # The most severe page leads its message.
            sorted(items, key=lambda i: severity.get(i.incident_number or 0, "~")),
            urgent=urgent,
            sent=batch.sent,
            limit=settings.throttle_sms if channel == "sms" else settings.throttle_calls,
            window=timedelta(minutes=settings.throttle_window_minutes),
            now=now,
        )
        for waiting, due in decided.waiting:
            await self._release(waiting, due, now)
        for message in decided.messages:
            if not self._time_left_to_send(message):
                await self._hand_back(message)
                continue
            result = await self._send(number, channel, message, urgent)
            await outcome.record_while_claimed(self.runtime, message, result, channel)

    def _time_left_to_send(self, message: list[Claimed]) -> bool:
        """Whether the claim outlasts a send that takes Twilio's whole timeout and
        the commit of its outcome. A send that waited its turn too long (a slow
        Twilio, a large batch) must not start: its claim could expire mid-send and
        another replica send the same page again."""
        needed = timedelta(seconds=self._settings.send_needs_seconds)
        return self.runtime.clock.now() + needed < min(m.lease_until for m in message)

    async def _hand_back(self, items: list[Claimed]) -> None:
        """Give unsent items back, due at once, to be claimed afresh: by this
        replica or another. Only while the claim is still this one's."""
        now = self.runtime.clock.now()
        log.info("%d notification(s) waited out their claim; handed back unsent", len(items))
        async with unit_of_work(self.runtime) as uow:
            await outbox.hand_back(uow.session, items, owner=self.owner, now=now)

    async def _screen(
        self, session: AsyncSession, items: list[Claimed], now: datetime
    ) -> tuple[list[Claimed], dict[int, str]]:
        """Cancel what is no longer true and return the rest, with the severity of
        each incident. Not sent: a page for an incident resolved meanwhile, an
        escalation page for one acknowledged meanwhile (a responder a person added
        to an acknowledged incident is still paged), a "resolved" notice for one
        that reopened since, a reminder of a missed update for one resolved
        since, and a notice that a later one of its kind replaces."""
        numbers = {number for number, _ in on_incidents(items)}
        if not numbers:
            return items, {}
        inc = incidents_table.c
        cancelled: list[tuple[Claimed, str | None]] = []
        rows = await session.execute(
            select(inc.number, inc.status, inc.severity).where(inc.number.in_(numbers))
        )
        status: dict[int, str] = {}
        severity: dict[int, str] = {}
        for row in rows:
            status[row.number], severity[row.number] = row.status, row.severity
        # Per number and channel: a later notice replaces an earlier one to the
        # same person, never one to somebody else (items are of many numbers).
        latest = {_notice_key(i): i.id for i in items if i.kind != "page"}
        for number, i in on_incidents(items):
            if i.kind == "page":
                if status[number] == "resolved" or (
                    status[number] == "acknowledged" and i.step_id is not None
                ):
                    cancelled.append((i, None))
            elif i.kind == "resolved" and status[number] != "resolved":
                cancelled.append((i, f"#{number} reopened since"))
            elif i.kind == "reminder" and status[number] == "resolved":
                cancelled.append((i, f"#{number} resolved since"))
            elif latest[_notice_key(i)] != i.id:
                cancelled.append((i, f"a later {i.kind} notice replaces it"))
        if cancelled:
            await outbox.cancel(session, [i.id for i, _ in cancelled], now)
            await record(
                session,
                [
                    event_row(
                        i.incident_number or 0,
                        "notice_dropped",
                        f"{i.kind.capitalize()} notice to {i.responder_name} not sent: {why}",
                        at=now,
                        actor="klaxon",
                        data={"notification": i.id},
                    )
                    for i, why in cancelled
                    if why is not None
                ],
            )
        gone = {i.id for i, _ in cancelled}
        return [i for i in items if i.id not in gone], severity

    async def _claim_waiting(
        self, session: AsyncSession, keys: set[_Key], lease: datetime, now: datetime
    ) -> list[Claimed]:
        """Claim, under the same lease, what else waits for these numbers (by
        channel): held back by the throttle or for a retry, not yet due."""
        n = notifications_table.c
        waiting = and_(n.state == "pending", _to_any(keys))
        return await outbox.claim(session, waiting, owner=self.owner, lease=lease, now=now)

    async def _sent_within_window(
        self, session: AsyncSession, keys: list[_Key], now: datetime
    ) -> dict[_Key, list[Sent]]:
        """The messages that went to each number (by channel) within the
        throttle's window (an item bundled into another's message is not a
        message of its own)."""
        if not keys:
            return {}
        window = timedelta(minutes=self._settings.throttle_window_minutes)
        n = notifications_table.c
        rows = await session.execute(
            select(n.to_number, n.channel, n.sent_at, n.kind).where(
                n.to_number.in_({number for number, _ in keys}),
                n.sent_at > now - window,
                n.bundled_into.is_(None),
            )
        )
        sent: dict[_Key, list[Sent]] = defaultdict(list)
        for row in rows:
            sent[(row.to_number, row.channel)].append(Sent(at=row.sent_at, kind=row.kind))
        return sent

    async def _release(self, items: list[Claimed], due: datetime, now: datetime) -> None:
        async with unit_of_work(self.runtime) as uow:
            ids = [i.id for i in items]
            await outbox.hold_back(uow.session, ids, owner=self.owner, due=due, now=now)
            await record(
                uow.session,
                [
                    event_row(
                        number,
                        "throttled",
                        f"{i.channel.upper()} to {i.responder_name} held back: the "
                        f"per-number limit is reached; it goes out at {due:%H:%M:%S} UTC",
                        at=now,
                        actor="klaxon",
                    )
                    for number, i in on_incidents(items)
                    if i.kind == "page"
                ],
            )

    async def _send(
        self,
        number: str,
        channel: str,
        message: list[Claimed],
        urgent: Callable[[Claimed], bool],
    ) -> SendResult:
        first = message[0]
        base = self._settings.callback_url
        status_callback = outbox.callback_url(base, "status", first.id)
        if channel == "voice":
            # A call about several incidents announces them all (app/replies).
            return await self.sender.place_call(
                to=number,
                twiml_url=outbox.callback_url(base, "voice", first.id),
                status_callback=status_callback,
            )
        body = _sms_text(message, urgent)
        return await self.sender.send_sms(to=number, body=body, status_callback=status_callback)
