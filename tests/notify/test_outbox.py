"""The outbox (app/notify/outbox.py) owns the notifications table: every row is
queued by ``enqueue`` and moves from state to state only through its functions.
These tests walk the state machine on the real database (both backends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from app.clock import ManualClock
from app.models import notifications_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.runtime import Runtime
from app.transaction import unit_of_work

LEASE = timedelta(seconds=60)


def _handoff(to: str, body: str = "You are on call") -> Outgoing:
    return Outgoing(kind="handoff", channel="sms", to_number=to, responder_name="alice", body=body)


async def _rows(runtime: Runtime) -> dict[int, Any]:
    async with runtime.sessions() as session:
        found = await session.execute(select(notifications_table))
        return {row.id: row for row in found}


async def _queue(runtime: Runtime, *items: Outgoing) -> list[int]:
    async with unit_of_work(runtime) as uow:
        assert await outbox.enqueue(uow.session, items, runtime.clock.now()) == len(items)
    return sorted(await _rows(runtime))


async def _claim(runtime: Runtime, owner: str) -> list[outbox.Claimed]:
    now = runtime.clock.now()
    async with unit_of_work(runtime) as uow:
        return await outbox.claim(
            uow.session, outbox.due_or_abandoned(now), owner=owner, lease=now + LEASE, now=now
        )


async def test_a_queued_row_is_claimed_once_until_its_lease_runs_out(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime: Runtime = app.state.runtime
    [queued] = await _queue(runtime, _handoff("+15550100"))
    assert (await _rows(runtime))[queued].state == "pending"
    [claimed] = await _claim(runtime, "replica-a")
    assert (claimed.id, claimed.body, claimed.attempts) == (queued, "You are on call", 0)
    assert await _claim(runtime, "replica-b") == [], "the lease keeps others off it"
    clock.advance(seconds=LEASE.total_seconds() + 1)
    [taken_over] = await _claim(runtime, "replica-b")
    assert taken_over.id == queued
    assert (await _rows(runtime))[queued].lease_owner == "replica-b"


async def test_a_hand_back_under_a_lease_taken_over_changes_nothing(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime: Runtime = app.state.runtime
    await _queue(runtime, _handoff("+15550101"))
    [mine] = await _claim(runtime, "replica-a")
    clock.advance(seconds=LEASE.total_seconds() + 1)
    [theirs] = await _claim(runtime, "replica-b")
    async with unit_of_work(runtime) as uow:
        await outbox.hand_back(uow.session, [mine], owner="replica-a", now=clock.now())
    assert (await _rows(runtime))[mine.id].state == "sending", "replica-b's claim stands"
    async with unit_of_work(runtime) as uow:
        await outbox.hand_back(uow.session, [theirs], owner="replica-b", now=clock.now())
    row = (await _rows(runtime))[mine.id]
    assert (row.state, row.lease_owner, row.due_at) == ("pending", None, clock.now())


async def test_a_bundle_is_sent_as_its_first_row_and_a_held_back_row_waits(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime: Runtime = app.state.runtime
    first, second, third = await _queue(
        runtime, _handoff("+15550102"), _handoff("+15550102"), _handoff("+15550103")
    )
    await _claim(runtime, "replica-a")
    later = clock.now() + timedelta(minutes=10)
    async with unit_of_work(runtime) as uow:
        await outbox.mark_sent(
            uow.session, [first, second], sid="SM1", delivery="queued", now=clock.now()
        )
        await outbox.hold_back(uow.session, [third], owner="replica-a", due=later, now=clock.now())
    rows = await _rows(runtime)
    assert (rows[first].state, rows[first].twilio_sid, rows[first].bundled_into) == (
        "sent",
        "SM1",
        None,
    )
    assert (rows[second].state, rows[second].bundled_into) == ("sent", first)
    assert (rows[third].state, rows[third].due_at, rows[third].lease_owner) == (
        "pending",
        later,
        None,
    )
    assert await _claim(runtime, "replica-a") == [], "held back until its due time"


async def test_a_failure_is_due_again_or_failed_for_good_with_its_attempt_counted(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime: Runtime = app.state.runtime
    retried, given_up = await _queue(runtime, _handoff("+15550104"), _handoff("+15550105"))
    await _claim(runtime, "replica-a")
    again = clock.now() + timedelta(seconds=10)
    async with unit_of_work(runtime) as uow:
        failed: dict[str, Any] = {"error_code": 20429, "error_message": "Too Many Requests"}
        await outbox.mark_failed(uow.session, retried, retry_at=again, now=clock.now(), **failed)
        await outbox.mark_failed(uow.session, given_up, retry_at=None, now=clock.now(), **failed)
    rows = await _rows(runtime)
    assert (rows[retried].state, rows[retried].due_at, rows[retried].attempts) == (
        "pending",
        again,
        1,
    )
    assert (rows[given_up].state, rows[given_up].attempts, rows[given_up].error_code) == (
        "failed",
        1,
        20429,
    )
    assert rows[retried].lease_owner is None and rows[given_up].lease_until is None
    clock.advance(seconds=10)
    [claimed] = await _claim(runtime, "replica-a")
    assert (claimed.id, claimed.attempts) == (retried, 1)


def test_twilio_calls_back_at_one_url_per_notification_and_kind() -> None:
    base = "https://klaxon.example"
    assert outbox.callback_url(base, "status", 7) == f"{base}/api/v1/twilio/status/7"
    assert outbox.callback_url(base, "voice", 7) == f"{base}/api/v1/twilio/voice/7"
