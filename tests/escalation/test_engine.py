"""The engine's promises: durable across restarts, once-only across replicas,
prompt on a pushed wake-up."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.clock import ManualClock
from app.escalation import steps
from app.main import create_app
from app.models import notifications_table
from app.notify.sender import make_sender
from app.runtime import Runtime
from app.worker import Worker
from tests.conftest import ADMIN_TOKEN
from tests.fakes.twilio_server import FakeTwilio, serve_asgi
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ALICE,
    BOB,
    ONCALL,
    PUBLIC_URL,
    Paging,
    checkout_alert,
    open_incident,
    paging_settings,
)


async def test_restart_mid_escalation_loses_and_doubles_nothing(
    paging: Paging, db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1
    # "Kill" this Klaxon's engine: what it had in memory is gone.
    await paging.engine.stop()

    second = create_app(paging_settings(db, fake_twilio), clock=clock)
    async with second.router.lifespan_context(second):
        engine: Worker = second.state.worker
        await engine.run_due()
        assert len(paging.texts_to(ALICE)) == 1, "step 1 is not sent again"
        clock.advance(minutes=5)
        await engine.run_due()
        assert len(paging.texts_to(BOB)) == 1
        assert len(paging.calls_to(BOB)) == 1
        clock.advance(hours=1)
        await engine.run_due()
    assert len(paging.fake.messages) == 2
    assert len(paging.fake.calls) == 1


async def test_a_claimed_page_whose_sender_died_goes_out_once_after_its_lease(
    paging: Paging, db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    await open_incident(paging, checkout_alert())
    # Fire step 1 (writes the page) and claim it, then die before sending.
    await steps.fire_due(paging.app.state.runtime)
    claimed, batches = await paging.engine.dispatcher._claim()
    assert claimed == 1 and [b.items[0].to_number for b in batches.values()] == [ALICE]
    other = Worker(
        paging.app.state.runtime, make_sender(paging.app.state.runtime.settings), owner="replica-b"
    )
    await other.run_due()
    assert paging.fake.messages == [], "the lease keeps another replica off it"
    clock.advance(seconds=61)
    await other.run_due()
    await other.run_due()
    assert len(paging.texts_to(ALICE)) == 1
    await other.stop()


@pytest.mark.postgresql_only("replicas share PostgreSQL; SQLite is single-writer")
async def test_two_engine_replicas_send_every_page_exactly_once(
    paging: Paging, database_url: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    numbers = [
        await open_incident(paging, checkout_alert(f"a0000000000000{i:02d}")) for i in range(12)
    ]
    settings = paging.app.state.runtime.settings.model_copy(
        update={"throttle_sms": 1000, "throttle_calls": 1000}
    )
    runtimes = [Runtime.create(settings, clock) for _ in range(2)]
    engines = [
        Worker(rt, make_sender(settings), owner=f"replica-{i}") for i, rt in enumerate(runtimes)
    ]
    for rt, engine in zip(runtimes, engines, strict=True):
        rt.wake = engine.wake
    try:
        for advance in (0, 5, 10, 60):
            clock.advance(minutes=advance)
            await asyncio.gather(*(e.run_due() for e in engines))
    finally:
        for rt, engine in zip(runtimes, engines, strict=True):
            await engine.stop()
            await rt.aclose()
    # Step 1 (alice, SMS) and step 2 (bob, SMS and call) for each incident,
    # each exactly once; pages that met in one batch went out bundled.
    sms_incidents: dict[str, list[int]] = {ALICE: [], BOB: []}
    for message in paging.fake.messages:
        body = str(message["body"])
        sms_incidents[message["to"]] += [int(n) for n in re.findall(r"#(\d+)\b", body)]
    assert sorted(sms_incidents[ALICE]) == numbers
    assert sorted(sms_incidents[BOB]) == numbers
    # Calls that met in one batch went out as one call announcing them all.
    n = notifications_table.c
    async with paging.app.state.runtime.sessions() as session:
        calls = (
            await session.execute(
                select(n.incident_number, func.coalesce(n.bundled_into, n.id)).where(
                    n.channel == "voice", n.state == "sent"
                )
            )
        ).all()
    assert sorted(number for number, _ in calls) == numbers
    assert len(paging.calls_to(BOB)) == len({call for _, call in calls})


async def test_a_new_incident_is_paged_on_a_pushed_wake_up_not_a_poll(
    db: str, fake_twilio: FakeTwilio
) -> None:
    # The engine loop polls only every 10 minutes here: the page can only
    # arrive in time because the webhook's commit wakes it.
    from tests.paging import ONCALL

    app = create_app(paging_settings(db, fake_twilio, engine_enabled=True, engine_poll_seconds=600))
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        fake_twilio.rewrite_url(PUBLIC_URL, url)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as api:
            assert (await api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
            # Let the loop go to sleep on its long poll first.
            await asyncio.sleep(0.05)
            resp = await api.post("/api/v1/webhooks/alertmanager", json=checkout_alert())
            assert resp.status_code == 200
            messages: list[dict[str, Any]] = await fake_twilio.wait_for_messages(1, timeout=5)
    assert messages[0]["to"] == ALICE


async def test_stopping_mid_send_records_the_send_rather_than_sending_it_again(
    paging: Paging, db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    # Stopping (a deploy, a restart) while Twilio is answering a page used to
    # cancel the send before its outcome was recorded: the claim stayed, and
    # the page went out a second time once its lease expired.
    await open_incident(paging, checkout_alert())
    fake_twilio.set_delay(0.5)
    paging.engine.start()
    paging.engine.wake()
    await fake_twilio.wait_for_requests(1)
    await paging.engine.stop()
    n = notifications_table.c
    async with paging.app.state.runtime.sessions() as session:
        states = (await session.execute(select(n.state).where(n.channel == "sms"))).scalars().all()
    assert states == ["sent"]
    fake_twilio.set_delay(0)
    clock.advance(minutes=2)  # past any lease
    second = Worker(
        paging.app.state.runtime, make_sender(paging.app.state.runtime.settings), owner="after"
    )
    await second.run_due()
    await second.stop()
    assert len(paging.texts_to(ALICE)) == 1


async def test_a_step_that_fails_is_tried_again_later_and_writes_nothing_meanwhile(
    paging: Paging, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A step whose firing raises (here a schedule row that no longer reads)
    leaves nothing half-written, is due again after 30 s, and does not hold up
    another incident's step; once the data is mended it pages once."""
    from app.models import schedules_table, steps_table

    runtime = paging.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            schedules_table.update()
            .where(schedules_table.c.name == "checkout-primary")
            .values(layers=[{"not": "a layer"}])
        )
    broken = await open_incident(paging, checkout_alert())
    # Another service's incident: the default route, whose policy reads another schedule.
    other = await open_incident(
        paging,
        am_payload([am_alert("0ddba11000000001", service="web", severity="critical")]),
    )
    await paging.tick()
    assert "escalation step" in caplog.text and "failed" in caplog.text
    assert paging.texts_to(ALICE) == [], "nothing was sent for the broken step"
    async with runtime.sessions() as session:
        rows = (
            await session.execute(
                select(
                    steps_table.c.incident_number, steps_table.c.status, steps_table.c.due_at
                ).order_by(steps_table.c.id)
            )
        ).all()
        pages = await session.scalar(
            select(func.count())
            .select_from(notifications_table)
            .where(notifications_table.c.incident_number == broken)
        )
    assert pages == 0, "the failed step wrote no page"
    broken_steps = [r for r in rows if r.incident_number == broken]
    assert [r.status for r in broken_steps] == ["pending"], "no next step was scheduled"
    assert broken_steps[0].due_at == clock.now() + timedelta(seconds=30)
    assert any(r.incident_number == other and r.status != "pending" for r in rows), (
        "the other incident's step fired"
    )

    applied = await paging.api.post("/api/v1/oncall-config", json=ONCALL)
    assert applied.status_code == 200, applied.text
    await paging.tick(seconds=29)
    assert paging.texts_to(ALICE) == []
    await paging.tick(seconds=1)
    assert len(paging.texts_to(ALICE)) == 1
