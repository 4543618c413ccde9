"""Maintenance windows mirrored into a real Alertmanager (Debian's 0.25) as
silences: created, listed and silencing there; expired with the window; made
ahead of a recurring window's next occurrence; and an Alertmanager that is down
delays no page, its silences made once it is back.

Alertmanager judges silences by its wall clock, so Klaxon's test clock starts
at the real now here and windows are placed around it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.clock import ManualClock
from tests.fakes.twilio_server import FakeTwilio
from tests.maintenance.conftest import am_get, klaxon_silences
from tests.paging import ALICE, Paging, checkout_alert, open_incident, serve_paging
from tests.services.alertmanager import PrivateAlertmanager

DB_LABELS = {"alertname": "DiskFull", "service": "db", "env": "prod", "instance": "db-1"}


@pytest.fixture
async def mirrored(
    db: str, fake_twilio: FakeTwilio, real_clock: ManualClock, alertmanager: PrivateAlertmanager
) -> AsyncIterator[Paging]:
    async with serve_paging(
        db, fake_twilio, real_clock, alertmanager_urls=f"http://127.0.0.1:1,{alertmanager.url}"
    ) as paging:
        yield paging


def _stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


async def _window(paging: Paging, start: datetime, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "db upgrade",
        "reason": "PostgreSQL 17",
        "starts_at": _stamp(start),
        "ends_at": _stamp(start + timedelta(hours=1)),
        "matchers": ['env="prod"'],
        "services": ["db"],
        **fields,
    }
    resp = await paging.api.post("/api/v1/maintenance", json=body)
    assert resp.status_code == 201, resp.text
    window: dict[str, Any] = resp.json()
    return window


async def test_a_window_becomes_a_silence_that_silences_matching_alerts(
    mirrored: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    window = await _window(mirrored, real_clock.now() - timedelta(minutes=1))
    await mirrored.tick()
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "active"
    assert silence["comment"].endswith(f"/api/v1/maintenance/{window['id']}")
    assert 'Klaxon maintenance window "db upgrade": PostgreSQL 17' in silence["comment"]
    assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
        ("env", "prod", False),
        ("service", "db", False),
    }

    await asyncio.to_thread(alertmanager.fire, DB_LABELS)
    await asyncio.to_thread(alertmanager.fire, {**DB_LABELS, "env": "staging"})
    silenced = await am_get(alertmanager, "/api/v2/alerts", silenced="true", active="false")
    assert [(a["labels"]["env"], a["status"]["silencedBy"]) for a in silenced] == [
        ("prod", [silence["id"]])
    ]
    shown = await am_get(alertmanager, "/api/v2/alerts", silenced="false")
    assert [a["labels"]["env"] for a in shown] == ["staging"]

    # Ending the window expires its silence there.
    ended = await mirrored.api.post(f"/api/v1/maintenance/{window['id']}/end")
    assert ended.status_code == 200, ended.text
    await mirrored.tick()
    [after] = await klaxon_silences(alertmanager)
    assert after["id"] == silence["id"] and after["status"]["state"] == "expired"


async def test_a_recurring_window_is_silenced_ahead_of_its_next_occurrence(
    mirrored: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    start = real_clock.now() + timedelta(hours=2)
    await _window(mirrored, start, ends_at=None, rrule="FREQ=DAILY", duration="1h", matchers=[])
    await mirrored.tick()
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "pending", "made ahead of time, not yet in force"
    assert silence["startsAt"].startswith(_stamp(start)[:19])
    assert silence["endsAt"].startswith(_stamp(start + timedelta(hours=1))[:19])

    # A day on, the horizon takes in the next occurrence too.
    await mirrored.tick(hours=23)
    starts = sorted(s["startsAt"][:19] for s in await klaxon_silences(alertmanager))
    assert starts == [_stamp(start)[:19], _stamp(start + timedelta(days=1))[:19]]


async def test_deleting_a_window_expires_its_silence(
    mirrored: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    window = await _window(mirrored, real_clock.now() - timedelta(minutes=1))
    await mirrored.tick()
    assert (await mirrored.api.delete(f"/api/v1/maintenance/{window['id']}")).status_code == 204
    await mirrored.tick()
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "expired"


async def test_alertmanager_down_delays_no_page_and_gets_its_silence_when_back(
    mirrored: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    await asyncio.to_thread(alertmanager.stop)
    await _window(mirrored, real_clock.now() - timedelta(minutes=1))
    number = await open_incident(mirrored, checkout_alert())
    await mirrored.tick()
    assert len(mirrored.texts_to(ALICE)) == 1, f"#{number} paged with Alertmanager down"
    metrics = (await mirrored.api.get("/metrics")).text
    assert 'klaxon_alertmanager_requests_total{method="POST",outcome="unreachable"}' in metrics

    await asyncio.to_thread(alertmanager.start)
    await mirrored.tick(seconds=2)
    assert await klaxon_silences(alertmanager) == [], "backing off: not retried at once"
    await mirrored.tick(seconds=5)
    [silence] = await klaxon_silences(alertmanager)
    assert silence["status"]["state"] == "active"
    metrics = (await mirrored.api.get("/metrics")).text
    assert (
        "klaxon_silences_active" in metrics and "klaxon_maintenance_windows_active 1.0" in metrics
    )


async def test_a_changed_window_updates_its_silence(
    mirrored: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    start = real_clock.now() - timedelta(minutes=1)
    item = {
        "name": "db upgrade",
        "reason": "PostgreSQL 17",
        "starts_at": _stamp(start),
        "ends_at": _stamp(start + timedelta(hours=1)),
        "services": ["db"],
    }
    applied = await mirrored.api.post("/api/v1/oncall-config", json={"maintenance": [item]})
    assert applied.status_code == 200, applied.text
    await mirrored.tick()
    [before] = await klaxon_silences(alertmanager)

    longer = {**item, "ends_at": _stamp(start + timedelta(hours=3))}
    applied = await mirrored.api.post("/api/v1/oncall-config", json={"maintenance": [longer]})
    assert [c["change"] for c in applied.json()["changes"]] == ["updated"]
    await mirrored.tick()
    active = [s for s in await klaxon_silences(alertmanager) if s["status"]["state"] == "active"]
    assert len(active) == 1, "one silence in force, not two"
    assert active[0]["endsAt"].startswith(_stamp(start + timedelta(hours=3))[:19])
    assert before["endsAt"].startswith(_stamp(start + timedelta(hours=1))[:19])
