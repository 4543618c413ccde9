"""A maintenance window's own Alertmanager silence on the timelines of the
incidents it holds (a real Alertmanager): the hold names the silence, and when
the window ends and they page, the timeline says the hold is over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.maintenance.conftest import klaxon_silences
from tests.paging import ALICE, Paging, checkout_alert, incident_detail, open_incident
from tests.services.alertmanager import PrivateAlertmanager


async def _window(paging: Paging) -> dict[str, Any]:
    start = paging.clock.now() - timedelta(minutes=1)
    body = {
        "name": "db-upgrade",
        "reason": "PostgreSQL 17",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "services": ["checkout"],
    }
    resp = await paging.api.post("/api/v1/maintenance", json=body)
    assert resp.status_code == 201, resp.text
    window: dict[str, Any] = resp.json()
    return window


def _lines(detail: dict[str, Any], kind: str) -> list[str]:
    return [e["message"] for e in detail["timeline"] if e["kind"] == kind]


async def test_the_hold_names_the_window_silence_and_its_end_says_paging(
    am_paging: Paging, alertmanager: PrivateAlertmanager
) -> None:
    window = await _window(am_paging)
    await am_paging.tick()
    [silence] = await klaxon_silences(alertmanager)

    number = await open_incident(am_paging, checkout_alert())
    await am_paging.tick()
    assert am_paging.texts_to(ALICE) == []
    detail = await incident_detail(am_paging, number)
    [held] = _lines(detail, "quiet")
    assert held.startswith(
        f'quiet: maintenance window "db-upgrade" (silence {silence["id"]} in Alertmanager) until '
    )
    assert _lines(detail, "quiet_over") == []

    ended = await am_paging.api.post(f"/api/v1/maintenance/{window['id']}/end")
    assert ended.status_code == 200, ended.text
    await am_paging.tick()
    assert len(am_paging.texts_to(ALICE)) == 1, "the window over, it pages"
    detail = await incident_detail(am_paging, number)
    assert _lines(detail, "quiet_over") == [
        f'maintenance window "db-upgrade" no longer holds it; its silence {silence["id"]}'
        " in Alertmanager ends with it: paging"
    ]
    await am_paging.tick(minutes=5)
    detail = await incident_detail(am_paging, number)
    assert len(_lines(detail, "quiet_over")) == 1, "said once, not at every step"


async def test_without_alertmanager_the_lines_name_no_silence(paging: Paging) -> None:
    await _window(paging)
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(hours=1)
    assert len(paging.texts_to(ALICE)) == 1
    detail = await incident_detail(paging, number)
    [held] = _lines(detail, "quiet")
    assert "silence" not in held
    assert _lines(detail, "quiet_over") == [
        'maintenance window "db-upgrade" no longer holds it: paging'
    ]
