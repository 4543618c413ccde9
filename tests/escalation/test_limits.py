"""Throttling per number, token rotation, DST at paging time, and the metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.clock import ManualClock
from app.main import create_app
from tests.fakes.twilio_server import FakeTwilio, serve_asgi
from tests.helpers import am_alert, am_payload
from tests.paging import (
    ALICE,
    BOB,
    PUBLIC_URL,
    Paging,
    checkout_alert,
    open_incident,
    paging_settings,
)


def _low(fp: str) -> dict[str, object]:
    """A SEV3 checkout alert: paged to alice by SMS, and throttled."""
    return am_payload(
        [am_alert(fp, service="checkout", severity="warning")], group_key=f"{{}}:{{low={fp}}}"
    )


async def test_throttled_low_severity_pages_wait_for_the_window_and_are_never_dropped(
    paging: Paging,
) -> None:
    settings = paging.app.state.runtime.settings
    paging.app.state.runtime.settings = settings.model_copy(update={"throttle_sms": 2})
    numbers = []
    for i in range(4):
        numbers.append(await open_incident(paging, _low(f"f00000000000000{i}")))
        # Acknowledge at once so only step 1 (alice) matters.
        await paging.tick()
        await paging.api.post(f"/api/v1/incidents/{numbers[-1]}/acknowledge")
        await paging.tick(minutes=1)
    # Two SMS went out; the next two were held back, not dropped... but were
    # cancelled by the acknowledgements, as pages for acknowledged incidents are.
    assert len(paging.texts_to(ALICE)) == 2
    # Now pages that stay wanted: two incidents left unacknowledged.
    later = [await open_incident(paging, _low(f"f10000000000000{i}")) for i in range(2)]
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 2, "the window still holds two SMS"
    timeline = (await paging.api.get(f"/api/v1/incidents/{later[0]}")).json()["timeline"]
    assert any(e["kind"] == "throttled" for e in timeline)
    await paging.tick(minutes=12)  # 15 minutes after the first SMS
    texts = paging.texts_to(ALICE)
    assert len(texts) == 3
    assert f"#{later[0]}" in texts[-1] and f"#{later[1]}" in texts[-1], "sent as one bundle"


async def test_secondary_auth_token_is_accepted_while_rotating(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    # Twilio signs with the new token while Klaxon still has the old one first.
    settings = paging_settings(
        db,
        fake_twilio,
        twilio_auth_token="old-token",
        twilio_auth_token_secondary=fake_twilio.auth_token,
    )
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        fake_twilio.rewrite_url(PUBLIC_URL, url)
        resp = await fake_twilio.inbound_sms(
            "+15559999999", "hello", f"{PUBLIC_URL}/api/v1/twilio/sms"
        )
        assert resp.status_code == 200
        wrong = await fake_twilio.inbound_sms(
            "+15559999999", "hello", f"{PUBLIC_URL}/api/v1/twilio/sms", bad_signature=True
        )
        assert wrong.status_code == 403


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 09:30 EDT, the day after spring-forward: today's shift (alice) began at 09:00.
        (datetime(2026, 3, 9, 13, 30, tzinfo=UTC), ALICE),
        # 08:30 EDT: still yesterday's shift (bob). Wrongly read as EST it would be 09:30.
        (datetime(2026, 3, 9, 12, 30, tzinfo=UTC), BOB),
        # 09:30 EST, before the change: that day's shift (bob).
        (datetime(2026, 3, 6, 14, 30, tzinfo=UTC), BOB),
    ],
)
async def test_page_goes_to_whoever_is_on_call_in_local_time_across_dst(
    paging: Paging, at: datetime, expected: str
) -> None:
    schedule = {
        "name": "checkout-primary",
        "time_zone": "America/New_York",
        "layers": [
            {
                "name": "daily",
                "participants": ["alice", "bob"],
                "shift": "1d",
                "start": "2026-03-01T09:00:00",
                "handoff": "09:00",
            }
        ],
    }
    resp = await paging.api.put("/api/v1/schedules/checkout-primary", json=schedule)
    assert resp.status_code in (200, 201), resp.text
    paging.clock.set(at)
    alert = checkout_alert()
    alert["alerts"][0]["startsAt"] = at.isoformat()  # an alert can't start 8 months ahead
    await open_incident(paging, alert)
    await paging.tick()
    assert [m["to"] for m in paging.fake.messages] == [expected]


async def test_paging_metrics(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)
    await paging.sms_reply(BOB, f"{number}A")
    text = (await paging.api.get("/metrics")).text
    assert 'klaxon_notifications_total{channel="sms",outcome="sent"}' in text
    assert 'klaxon_notifications_total{channel="voice",outcome="sent"}' in text
    assert "klaxon_escalation_step_lag_seconds_count" in text
    assert 'klaxon_time_to_acknowledge_seconds_count{severity="SEV2"}' in text


async def test_a_flapping_health_check_reopens_its_incident_and_pages_again(
    paging: Paging,
) -> None:
    def check(status: str) -> dict[str, object]:
        return {
            "name": "cart",
            "status": status,
            "labels": {"service": "checkout", "severity": "critical"},
        }

    url = "/api/v1/webhooks/healthcheck"
    number = (await paging.api.post(url, json=check("down"))).json()["incidents"][0]
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1
    await paging.api.post(url, json=check("up"))
    await paging.tick(minutes=2)
    assert "resolved" in paging.texts_to(ALICE)[-1]
    again = await paging.api.post(url, json=check("down"))
    assert again.json()["incidents"] == [number]
    await paging.tick()
    texts = paging.texts_to(ALICE)
    assert len(texts) == 3
    assert f"#{number} " in texts[-1] and "Reply" in texts[-1]
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert detail["status"] == "triggered"
