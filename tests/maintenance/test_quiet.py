"""Paging under a maintenance window, as the phones see it: the incident is
stored and shown, nobody is paged until the window ends, and nobody at all if
the alerts resolved meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, BOB, Paging, checkout_alert, incident_detail, open_incident

# The test clock starts at 2026-11-26 12:00 UTC.
DB_UPGRADE: dict[str, Any] = {
    "name": "db upgrade",
    "reason": "PostgreSQL 17 upgrade",
    "starts_at": "2026-11-26T11:30:00Z",
    "ends_at": "2026-11-26T15:00:00Z",
    "services": ["checkout"],
}


async def _plan(paging: Paging, **changes: Any) -> dict[str, Any]:
    resp = await paging.api.post("/api/v1/maintenance", json={**DB_UPGRADE, **changes})
    assert resp.status_code == 201, resp.text
    window: dict[str, Any] = resp.json()
    return window


def _resolved_checkout() -> dict[str, Any]:
    alert = am_alert(
        "c0ffee0000000001",
        status="resolved",
        service="checkout",
        severity="critical",
        ends_at="2026-11-26T12:30:00Z",
    )
    return am_payload([alert], group_key="{}:{checkout=c0ffee0000000001}")


async def test_alert_in_a_window_is_stored_and_pages_when_the_window_ends(paging: Paging) -> None:
    await _plan(paging)
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(ALICE) == []
    detail = await incident_detail(paging, number)
    assert detail["status"] == "triggered"
    quiet = [e["message"] for e in detail["timeline"] if e["kind"] == "quiet"]
    assert quiet == ['quiet: maintenance window "db upgrade" until 15:00 UTC']

    await paging.tick(hours=2, minutes=59, seconds=59)
    assert paging.texts_to(ALICE) == []
    await paging.tick(seconds=1)
    assert len(paging.texts_to(ALICE)) == 1, "still firing at the end: it pages then"
    await paging.tick(minutes=5)
    assert len(paging.texts_to(BOB)) == 1, "and escalates as usual from there"


async def test_alert_resolved_during_the_window_pages_nobody(paging: Paging) -> None:
    await _plan(paging)
    number = await open_incident(paging, checkout_alert())
    await paging.tick(minutes=30)
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=_resolved_checkout())
    assert resp.status_code == 200, resp.text
    await paging.tick(hours=4)
    assert paging.fake.messages == [] and paging.fake.calls == []
    assert (await incident_detail(paging, number))["status"] == "resolved"


async def test_window_of_another_service_holds_nothing(paging: Paging) -> None:
    await _plan(paging, services=["storage"])
    await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1


async def test_matchers_scope_a_window_to_some_alerts(paging: Paging) -> None:
    await _plan(paging, services=[], matchers=['instance=~"db-.*"'])
    await open_incident(paging, checkout_alert("c0ffee0000000002", instance="web-1"))
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1, "web-1 is not in the window"
    held = checkout_alert("c0ffee0000000003", instance="db-1")
    held["alerts"][0]["labels"]["alertname"] = "Other"
    held["groupKey"] = "{}:{db-1}"
    await open_incident(paging, held)
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1, "db-1 is held"


async def test_ending_a_window_early_pages_what_it_held(paging: Paging) -> None:
    window = await _plan(paging)
    await open_incident(paging, checkout_alert())
    await paging.tick(minutes=10)
    assert paging.texts_to(ALICE) == []
    ended = await paging.api.post(f"/api/v1/maintenance/{window['id']}/end")
    assert ended.status_code == 200, ended.text
    assert ended.json()["active"] is False
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1


@pytest.mark.parametrize("quiet_open", [True, False])
async def test_quiet_open_incidents_holds_the_escalation_of_open_incidents(
    paging: Paging, quiet_open: bool
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1
    await _plan(paging, starts_at="2026-11-26T12:01:00Z", quiet_open_incidents=quiet_open)
    await paging.tick(minutes=5)
    if not quiet_open:
        assert len(paging.texts_to(BOB)) == 1, "an incident open before the window pages on"
        return
    assert paging.texts_to(BOB) == []
    detail = await incident_detail(paging, number)
    assert any(e["kind"] == "quiet" for e in detail["timeline"])
    await paging.tick(hours=3)
    assert len(paging.texts_to(BOB)) == 1, "the escalation resumes at the window's end"


async def test_recurring_window_holds_only_during_its_occurrences(paging: Paging) -> None:
    # Every day 12:00-13:00 in New York (17:00-18:00 UTC in November).
    await _plan(
        paging,
        starts_at="2026-11-20T12:00:00",
        ends_at=None,
        time_zone="America/New_York",
        rrule="FREQ=DAILY",
        duration="1h",
    )
    first = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1, "12:00 UTC is outside the occurrence"
    acked = await paging.api.post(f"/api/v1/incidents/{first}/acknowledge")
    assert acked.status_code == 200, acked.text

    await paging.tick(hours=5, minutes=10)  # 17:10 UTC
    late = checkout_alert("c0ffee0000000009", starts_at="2026-11-26T17:09:00Z")
    late["groupKey"] = "{}:{late}"
    late["alerts"][0]["labels"]["alertname"] = "Late"
    number = await open_incident(paging, late)
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1
    detail = await incident_detail(paging, number)
    assert [e["message"] for e in detail["timeline"] if e["kind"] == "quiet"] == [
        'quiet: maintenance window "db upgrade" until 18:00 UTC'
    ]
    await paging.tick(minutes=50)
    assert len(paging.texts_to(ALICE)) == 2
