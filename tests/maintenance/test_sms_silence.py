"""``42S2h`` by SMS against a real Alertmanager: the incident is acknowledged
and its alert silenced there for the length asked, said on the timeline with
who asked; asking again moves the end; resolving lifts it. The same powers as
acknowledging, and clear answers when nothing can be silenced."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.maintenance.conftest import am_get, klaxon_silences
from tests.paging import (
    ALICE,
    BOB,
    ONCALL,
    Paging,
    checkout_alert,
    incident_detail,
    open_incident,
)
from tests.services.alertmanager import PrivateAlertmanager

CHECKOUT = {"alertname": "HighErrorRate", "service": "checkout", "severity": "critical"}


def said(response: httpx.Response) -> str | None:
    node = ET.fromstring(response.text).find("Message")
    return None if node is None else node.text


def ends(silence: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))


async def active(am: PrivateAlertmanager) -> list[dict[str, Any]]:
    return [s for s in await klaxon_silences(am) if s["status"]["state"] == "active"]


async def test_42s2h_acknowledges_and_silences_for_two_hours_and_resolve_lifts_it(
    am_paging: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    number = await open_incident(am_paging, checkout_alert())
    await am_paging.tick()
    assert len(am_paging.texts_to(ALICE)) == 1

    answer = said(await am_paging.sms_reply(ALICE, f"{number}S2h"))
    assert answer is not None
    assert answer.startswith(f"#{number} acknowledged and silenced in Alertmanager until ")
    await am_paging.tick()
    [silence] = await active(alertmanager)
    assert sorted((m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]) == sorted(
        (name, value, False) for name, value in CHECKOUT.items()
    )
    assert f"Klaxon #{number} silenced for 2h by alice via sms" in silence["comment"]
    assert abs(ends(silence) - (real_clock.now() + timedelta(hours=2))) < timedelta(seconds=5)
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)
    silenced = await am_get(alertmanager, "/api/v2/alerts", silenced="true", active="false")
    assert [a["status"]["silencedBy"] for a in silenced] == [[silence["id"]]]

    detail = await incident_detail(am_paging, number)
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == "alice"
    [line] = [e for e in detail["timeline"] if e["kind"] == "silence"]
    assert line["actor"] == "alice"
    assert line["message"].startswith("Silenced in Alertmanager for 2h (until ")

    # Asking again moves the end of the same silence; no second one.
    await am_paging.tick(minutes=30)
    again = said(await am_paging.sms_reply(ALICE, f"{number}S1h"))
    assert again is not None and again.startswith(f"#{number} silenced in Alertmanager until ")
    await am_paging.tick()
    [moved] = await active(alertmanager)
    assert abs(ends(moved) - (real_clock.now() + timedelta(hours=1))) < timedelta(seconds=5)

    resolved = await am_paging.api.post(f"/api/v1/incidents/{number}/resolve")
    assert resolved.status_code == 200, resolved.text
    await am_paging.tick()
    assert await active(alertmanager) == []
    timeline = [e["message"] for e in (await incident_detail(am_paging, number))["timeline"]]
    assert any(m.startswith("Alertmanager silence lifted (resolved)") for m in timeline)


async def test_a_silence_asked_by_sms_keeps_its_length_and_is_not_renewed(
    am_paging: Paging, alertmanager: PrivateAlertmanager, real_clock: ManualClock
) -> None:
    await asyncio.to_thread(alertmanager.fire, CHECKOUT)  # else the poll resolves it
    number = await open_incident(am_paging, checkout_alert())
    asked_at = real_clock.now()
    assert said(await am_paging.sms_reply(ALICE, f"{number}S10m")) is not None
    await am_paging.tick()
    [silence] = await active(alertmanager)
    assert abs(ends(silence) - (asked_at + timedelta(minutes=10))) < timedelta(seconds=5)
    # Past half its length and still acknowledged and firing: an acknowledgement's
    # silence would be renewed; one asked for by hand ends when asked.
    await am_paging.tick(minutes=8)
    await am_paging.tick(minutes=3)
    [same] = await klaxon_silences(alertmanager)
    assert same["id"] == silence["id"] and ends(same) == ends(silence)
    assert (await incident_detail(am_paging, number))["status"] == "acknowledged"


async def test_paged_only_refuses_a_silence_from_someone_not_paged(
    am_paging: Paging, alertmanager: PrivateAlertmanager
) -> None:
    policy = next(p for p in ONCALL["policies"] if p["name"] == "checkout-oncall")
    body = {"steps": policy["steps"], "ack": "paged-only"}
    resp = await am_paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=body)
    assert resp.status_code == 200, resp.text
    number = await open_incident(am_paging, checkout_alert())
    await am_paging.tick()

    answer = said(await am_paging.sms_reply(BOB, f"{number}S2h"))
    assert answer is not None and "lets only responders paged for it" in answer
    await am_paging.tick()
    assert await klaxon_silences(alertmanager) == []
    assert (await incident_detail(am_paging, number))["status"] == "triggered"


@pytest.mark.parametrize(
    ("body", "expected"),
    [("{n}S8d", "#{n} unchanged: a silence lasts from 1m to 7d"), ("999S1h", "No incident #999")],
)
async def test_lengths_out_of_bounds_and_unknown_incidents_change_nothing(
    am_paging: Paging, alertmanager: PrivateAlertmanager, body: str, expected: str
) -> None:
    number = await open_incident(am_paging, checkout_alert())
    answer = said(await am_paging.sms_reply(ALICE, body.format(n=number)))
    assert answer == expected.format(n=number)
    await am_paging.tick()
    assert await klaxon_silences(alertmanager) == []
    assert (await incident_detail(am_paging, number))["status"] == "triggered"


async def test_without_alertmanager_a_silence_reply_says_so_and_changes_nothing(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    answer = said(await paging.sms_reply(ALICE, f"{number}S2h"))
    assert answer == f"#{number} unchanged: Klaxon has no Alertmanager to silence in"
    assert (await incident_detail(paging, number))["status"] == "triggered"
