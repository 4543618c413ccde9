"""The outbound queue's promises: one message per decision, sent after the
commit, retried by a pure rule until it is sent or its deadline passes, on the
incident's timeline, and never in the way of a page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from app.clock import ManualClock
from app.models import outbound_table, timeline_table
from app.notify import outbound
from app.notify.outbound import MAX_ATTEMPTS, Delivered, Outbound, retry_delay
from app.notify.sender import make_sender
from app.worker import Worker
from tests.paging import ALICE, Paging, checkout_alert, open_incident


class Receiver:
    """A handler whose answers the test scripts, recording what it was given."""

    def __init__(self, *answers: Delivered) -> None:
        self.answers = list(answers)
        self.got: list[Outbound] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, message: Outbound) -> Delivered:
        self.got.append(message)
        if self.gate is not None:
            await self.gate.wait()
        return self.answers.pop(0) if self.answers else Delivered(ok=True, summary="200 OK")


OK = Delivered(ok=True, summary="Webhook to hooks.example: 200 OK")
DOWN = Delivered(ok=False, summary="Webhook to hooks.example: 503 Service Unavailable")


def make_engine(paging: Paging, receiver: Receiver, owner: str = "outbound-test") -> Worker:
    runtime = paging.app.state.runtime
    return Worker(runtime, make_sender(runtime.settings), owner=owner, outbound={"hook": receiver})


async def queue(paging: Paging, key: str, incident: int | None = None, **kw: object) -> bool:
    runtime = paging.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        return await outbound.enqueue(
            session,
            "hook",
            {"event": key},
            key=key,
            now=runtime.clock.now(),
            incident_number=incident,
            **kw,  # type: ignore[arg-type]
        )


async def states(paging: Paging) -> list[tuple[str, str, int]]:
    o = outbound_table.c
    async with paging.app.state.runtime.sessions() as session:
        rows = await session.execute(select(o.key, o.state, o.attempts).order_by(o.id))
        return [(r.key, r.state, r.attempts) for r in rows]


async def timeline(paging: Paging, number: int) -> list[str]:
    t = timeline_table.c
    async with paging.app.state.runtime.sessions() as session:
        rows = await session.execute(
            select(t.message).where(t.incident_number == number, t.kind.like("outbound%"))
        )
        return list(rows.scalars())


def test_retry_delay_doubles_from_five_seconds_to_ten_minutes_or_takes_the_receivers_word() -> None:
    assert [retry_delay(n).total_seconds() for n in range(9)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        600,
        600,
    ]
    assert retry_delay(3, retry_after=30) == timedelta(seconds=30)
    assert retry_delay(0, retry_after=0) == timedelta(seconds=1)
    assert retry_delay(0, retry_after=10**9) == timedelta(hours=1)
    assert retry_delay(10**6) == timedelta(minutes=10)


async def test_a_decision_taken_twice_queues_one_message_sent_once(
    paging: Paging, clock: ManualClock
) -> None:
    assert await queue(paging, "incident-1-opened")
    assert not await queue(paging, "incident-1-opened")
    receiver = Receiver()
    engine = make_engine(paging, receiver)
    await engine.run_due()
    await engine.run_due()
    await engine.stop()
    assert [m.key for m in receiver.got] == ["incident-1-opened"]
    assert receiver.got[0].payload == {"event": "incident-1-opened"}
    assert await states(paging) == [("incident-1-opened", "sent", 1)]


async def test_a_failure_is_retried_when_due_and_each_outcome_is_on_the_timeline(
    paging: Paging, clock: ManualClock
) -> None:
    number = await open_incident(paging, checkout_alert())
    await queue(paging, "hook-1", incident=number)
    receiver = Receiver(DOWN, DOWN, OK)
    engine = make_engine(paging, receiver)
    await engine.run_due()
    assert await states(paging) == [("hook-1", "pending", 1)]
    clock.advance(seconds=4)
    await engine.run_due()
    assert len(receiver.got) == 1, "not before its retry is due (5 s)"
    clock.advance(seconds=1)
    await engine.run_due()
    clock.advance(seconds=10)
    await engine.run_due()
    await engine.stop()
    assert [m.attempts for m in receiver.got] == [0, 1, 2]
    assert await states(paging) == [("hook-1", "sent", 3)]
    lines = await timeline(paging, number)
    assert lines[0].startswith("Webhook to hooks.example: 503 Service Unavailable; trying again")
    assert lines[-1] == "Webhook to hooks.example: 200 OK"
    assert len(lines) == 3


async def test_a_final_failure_and_a_passed_deadline_give_up(
    paging: Paging, clock: ManualClock
) -> None:
    number = await open_incident(paging, checkout_alert())
    await queue(paging, "refused", incident=number)
    await queue(paging, "late", incident=number, deadline=clock.now() + timedelta(seconds=12))
    refused = Delivered(ok=False, summary="Webhook: 404 Not Found", final=True)
    receiver = Receiver(refused, DOWN, DOWN)
    engine = make_engine(paging, receiver)
    await engine.run_due()  # refused: given up; late: retry at +5 s
    clock.advance(seconds=5)
    await engine.run_due()  # late again: the next retry (+10 s) would pass the deadline
    clock.advance(minutes=30)
    await engine.run_due()
    await engine.stop()
    assert await states(paging) == [("refused", "failed", 1), ("late", "failed", 2)]
    assert len(receiver.got) == 3
    lines = await timeline(paging, number)
    assert "Webhook: 404 Not Found; given up" in lines
    assert lines[-1].endswith("503 Service Unavailable; given up")


async def test_attempts_are_bounded(paging: Paging, clock: ManualClock) -> None:
    await queue(paging, "never")
    receiver = Receiver(*[DOWN] * (MAX_ATTEMPTS + 5))
    engine = make_engine(paging, receiver)
    for _ in range(MAX_ATTEMPTS + 5):
        await engine.run_due()
        clock.advance(hours=1)
    await engine.stop()
    assert len(receiver.got) == MAX_ATTEMPTS
    assert await states(paging) == [("never", "failed", MAX_ATTEMPTS)]


async def test_a_handler_that_raises_is_retried_not_lost(
    paging: Paging, clock: ManualClock
) -> None:
    calls = 0

    async def broken(message: Outbound) -> Delivered:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("bug")
        return OK

    runtime = paging.app.state.runtime
    engine = Worker(runtime, make_sender(runtime.settings), owner="x", outbound={"hook": broken})
    await queue(paging, "k")
    await engine.run_due()
    clock.advance(seconds=5)
    await engine.run_due()
    await engine.stop()
    assert calls == 2
    assert await states(paging) == [("k", "sent", 2)]


async def test_a_replica_without_the_handler_leaves_the_message_to_one_that_has_it(
    paging: Paging, clock: ManualClock
) -> None:
    await queue(paging, "k")
    # The app's own engine has no "hook" handler (the settings enable none).
    await paging.engine.run_due()
    assert await states(paging) == [("k", "pending", 0)]
    receiver = Receiver()
    engine = make_engine(paging, receiver)
    await engine.run_due()
    await engine.stop()
    assert await states(paging) == [("k", "sent", 1)]


async def test_a_receiver_that_hangs_never_holds_up_a_page(
    paging: Paging, clock: ManualClock
) -> None:
    receiver = Receiver()
    receiver.gate = asyncio.Event()  # the receiver answers nothing until the end
    engine = make_engine(paging, receiver)
    await queue(paging, "stuck")
    await engine._run_due(wait_for_sends=False)
    assert len(receiver.got) == 1
    await open_incident(paging, checkout_alert())
    await engine._run_due(wait_for_sends=False)
    await engine.dispatcher.drain()
    assert len(paging.texts_to(ALICE)) == 1, "the page went out while the hook hung"
    assert await states(paging) == [("stuck", "sending", 0)]
    receiver.gate.set()
    await engine.outbound.drain()
    await engine.stop()
    assert await states(paging) == [("stuck", "sent", 1)]


async def test_a_claim_whose_sender_died_is_sent_by_another_after_the_lease(
    paging: Paging, clock: ManualClock
) -> None:
    await queue(paging, "k")
    first = make_engine(paging, Receiver(), owner="died")
    claimed = await first.outbound._claim()  # claims, then "dies" before sending
    assert [m.key for m in claimed] == ["k"]
    receiver = Receiver()
    second = make_engine(paging, receiver, owner="alive")
    await second.run_due()
    assert receiver.got == [], "the lease keeps the other replica off it"
    clock.advance(minutes=3)
    await second.run_due()
    await second.stop()
    assert [m.key for m in receiver.got] == ["k"]
    assert await states(paging) == [("k", "sent", 1)]
