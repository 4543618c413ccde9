"""Silence on acknowledge against a real Alertmanager: the acknowledged
incident's alert is silenced there on its exact labels, the silence is extended
while the incident stays acknowledged, and it is lifted when it resolves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.conftest import RULES
from tests.fakes.twilio_server import FakeTwilio
from tests.maintenance.conftest import am_get, klaxon_silences
from tests.paging import ALICE, Paging, checkout_alert, incident_detail, open_incident, serve_paging
from tests.services.alertmanager import PrivateAlertmanager

CHECKOUT = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}


@pytest.fixture
async def acking(
    db: str,
    fake_twilio: FakeTwilio,
    real_clock: ManualClock,
    alertmanager: PrivateAlertmanager,
    tmp_path: Path,
) -> AsyncIterator[Paging]:
    rules = tmp_path / "rules.yaml"
    text = RULES.read_text().replace(
        "    policy: checkout-oncall\n", "    policy: checkout-oncall\n    silence_on_ack: 1h\n", 1
    )
    assert "silence_on_ack" in text
    rules.write_text(text)
    async with serve_paging(
        db, fake_twilio, real_clock, alertmanager_urls=alertmanager.url, config=rules
    ) as paging:
        yield paging


def _ends(silence: dict[str, str]) -> datetime:
    return datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))


async def test_ack_silences_the_alert_extends_it_and_resolve_lifts_it(
    acking: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    number = await open_incident(acking, checkout_alert())
    await acking.tick()
    assert len(acking.texts_to(ALICE)) == 1
    assert await klaxon_silences(alertmanager) == [], "nothing is silenced before the ack"

    acked = await acking.api.post(f"/api/v1/incidents/{number}/acknowledge")
    assert acked.status_code == 200, acked.text
    await acking.tick()
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "active"
    assert sorted((m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]) == sorted(
        (name, value, False) for name, value in CHECKOUT.items()
    )
    assert f"Klaxon #{number} acknowledged by admin" in silence["comment"]
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)
    silenced = await am_get(alertmanager, "/api/v2/alerts", silenced="true", active="false")
    assert [a["status"]["silencedBy"] for a in silenced] == [[silence["id"]]]
    first_end = _ends(silence)
    assert abs(first_end - (real_clock.now() + timedelta(hours=1))) < timedelta(seconds=5)

    # Still acknowledged and firing past half its length: extended.
    await acking.tick(minutes=31)
    current = [s for s in await klaxon_silences(alertmanager) if s["status"]["state"] == "active"]
    assert len(current) == 1
    assert _ends(current[0]) - first_end > timedelta(minutes=30)

    resolved = await acking.api.post(f"/api/v1/incidents/{number}/resolve")
    assert resolved.status_code == 200, resolved.text
    await acking.tick()
    states = {s["status"]["state"] for s in await klaxon_silences(alertmanager)}
    assert states == {"expired"}
    timeline = [e["message"] for e in (await incident_detail(acking, number))["timeline"]]
    assert any(m.startswith("Silenced in Alertmanager while acknowledged") for m in timeline)
    assert any(m.startswith("Alertmanager silence lifted") for m in timeline)


async def test_an_alert_resolved_while_silenced_closes_its_incident_through_the_poll(
    acking: Paging, alertmanager: PrivateAlertmanager
) -> None:
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)
    number = await open_incident(acking, checkout_alert())
    acked = await acking.api.post(f"/api/v1/incidents/{number}/acknowledge")
    assert acked.status_code == 200, acked.text
    await acking.tick()
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "active"

    await acking.tick(minutes=1, seconds=1)  # the poll: still firing there
    assert (await incident_detail(acking, number))["status"] == "acknowledged"

    # Silenced, Alertmanager sends Klaxon no resolution; the poll sees it gone.
    await asyncio.to_thread(alertmanager.resolve, CHECKOUT)
    await acking.tick(minutes=1, seconds=1)
    detail = await incident_detail(acking, number)
    assert detail["status"] == "resolved"
    assert detail["resolved_by"] == "klaxon (alertmanager poll)"
    await acking.tick()
    assert {s["status"]["state"] for s in await klaxon_silences(alertmanager)} == {"expired"}
