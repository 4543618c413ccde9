"""``silence_on_ack`` on an escalation policy (the policy API and the apply
file), against a real Alertmanager: an acknowledgement silences for the
policy's length, and a route's own ``silence_on_ack`` takes precedence."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from tests.conftest import RULES
from tests.fakes.twilio_server import FakeTwilio
from tests.maintenance.conftest import klaxon_silences
from tests.paging import ONCALL, Paging, checkout_alert, open_incident, serve_paging
from tests.services.alertmanager import PrivateAlertmanager


def _checkout_policy(**extra: Any) -> dict[str, Any]:
    policy = copy.deepcopy(next(p for p in ONCALL["policies"] if p["name"] == "checkout-oncall"))
    return {**policy, **extra}


async def _acked_silence_length(paging: Paging, am: PrivateAlertmanager) -> timedelta:
    number = await open_incident(paging, checkout_alert())
    acked = await paging.api.post(f"/api/v1/incidents/{number}/acknowledge")
    assert acked.status_code == 200, acked.text
    await paging.tick()
    [silence] = await klaxon_silences(am)
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    return ends - paging.clock.now()


async def test_a_policy_silence_on_ack_silences_its_acknowledged_incidents(
    am_paging: Paging, alertmanager: PrivateAlertmanager
) -> None:
    body = _checkout_policy(silence_on_ack="2h")
    put = await am_paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["silence_on_ack"] == 7200
    got = await am_paging.api.get("/api/v1/escalation-policies/checkout-oncall")
    assert got.json()["silence_on_ack"] == 7200

    length = await _acked_silence_length(am_paging, alertmanager)
    assert abs(length - timedelta(hours=2)) < timedelta(seconds=5)


async def test_without_silence_on_ack_anywhere_an_ack_silences_nothing(
    am_paging: Paging, alertmanager: PrivateAlertmanager
) -> None:
    number = await open_incident(am_paging, checkout_alert())
    acked = await am_paging.api.post(f"/api/v1/incidents/{number}/acknowledge")
    assert acked.status_code == 200, acked.text
    await am_paging.tick()
    assert await klaxon_silences(alertmanager) == []


async def test_the_route_setting_takes_precedence_over_the_policy(
    db: str,
    fake_twilio: FakeTwilio,
    real_clock: ManualClock,
    alertmanager: PrivateAlertmanager,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULES.read_text().replace(
            "    policy: checkout-oncall\n",
            "    policy: checkout-oncall\n    silence_on_ack: 30m\n",
            1,
        )
    )
    async with serve_paging(
        db, fake_twilio, real_clock, alertmanager_urls=alertmanager.url, config=rules
    ) as paging:
        body = _checkout_policy(silence_on_ack="3h")
        put = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=body)
        assert put.status_code == 200, put.text
        length = await _acked_silence_length(paging, alertmanager)
    assert abs(length - timedelta(minutes=30)) < timedelta(seconds=5)


@pytest.mark.parametrize("bad", ["2w", "30s", 10, 8 * 86400, "soon"])
async def test_a_bad_policy_silence_on_ack_is_refused_by_name(paging: Paging, bad: Any) -> None:
    body = _checkout_policy(silence_on_ack=bad)
    put = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=body)
    assert put.status_code == 422, put.text
    assert "silence_on_ack" in put.text
    got = await paging.api.get("/api/v1/escalation-policies/checkout-oncall")
    assert "silence_on_ack" not in got.json()


async def test_the_apply_file_sets_and_clears_a_policy_silence_on_ack(paging: Paging) -> None:
    doc = copy.deepcopy(ONCALL)
    doc["policies"] = [
        _checkout_policy(silence_on_ack="1d") if p["name"] == "checkout-oncall" else p
        for p in doc["policies"]
    ]
    applied = await paging.api.post("/api/v1/oncall-config", json=doc)
    assert applied.status_code == 200, applied.text
    got = await paging.api.get("/api/v1/escalation-policies/checkout-oncall")
    assert got.json()["silence_on_ack"] == 86400

    applied = await paging.api.post("/api/v1/oncall-config", json=ONCALL)
    assert applied.status_code == 200, applied.text
    got = await paging.api.get("/api/v1/escalation-policies/checkout-oncall")
    assert "silence_on_ack" not in got.json()
