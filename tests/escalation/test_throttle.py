"""The per-number throttle spares a phone from noise and never holds back the signal:
SEV1/SEV2 pages go out when their step fires, notices yield to pages, a notice that
is no longer true is not sent, and waiting calls go out as one."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, CAROL, Paging, checkout_alert, incident_detail, open_incident

_CHECKS = "/api/v1/webhooks/healthcheck"


def _check(name: str, status: str) -> dict[str, Any]:
    # severity=warning: SEV3, paged by SMS to checkout's primary (alice).
    return {
        "name": name,
        "status": status,
        "labels": {"service": "checkout", "severity": "warning"},
    }


async def _flap(paging: Paging, name: str, status: str) -> list[int]:
    resp = await paging.api.post(_CHECKS, json=_check(name, status))
    assert resp.status_code == 200, resp.text
    await paging.tick(seconds=10)
    numbers: list[int] = resp.json()["incidents"]
    return numbers


def _postgres_down() -> dict[str, Any]:
    # A severity rule makes DatabaseDown in prod a SEV1.
    return am_payload(
        [
            am_alert(
                "5ev1000000000001",
                alertname="DatabaseDown",
                env="prod",
                service="checkout",
                annotations={"summary": "PostgresDown"},
            )
        ],
        group_key="{}:{alertname=DatabaseDown}",
    )


async def test_a_sev1_page_goes_out_at_once_through_a_window_full_of_flapping_noise(
    paging: Paging,
) -> None:
    # Two checks flap: each outage pages alice and each recovery tells her so,
    # until her window (5 pages per 15 minutes) is full and the rest waits.
    for _ in range(3):
        [cart] = await _flap(paging, "cart", "down")
        await _flap(paging, "cart", "up")
        [disk] = await _flap(paging, "disk", "down")
        await _flap(paging, "disk", "up")
    await _flap(paging, "disk", "down")  # disk reopens: its "resolved" notices are untrue now
    waiting = len(paging.texts_to(ALICE))
    timeline = (await incident_detail(paging, disk))["timeline"]
    assert any(e["kind"] == "throttled" for e in timeline), "disk's page waits for the window"

    sev1 = await open_incident(paging, _postgres_down())
    await paging.tick()
    texts = paging.texts_to(ALICE)
    assert len(texts) == waiting + 1, "the SEV1 page went out when its step fired"
    assert texts[-1].startswith(f"[Klaxon] SEV1 #{sev1} PostgresDown"), texts[-1]
    assert f"#{disk}" in texts[-1], "what was waiting rides along with the SEV1 page"
    detail = await incident_detail(paging, sev1)
    assert not any(e["kind"] == "throttled" for e in detail["timeline"])

    await paging.tick(minutes=30)
    after = paging.texts_to(ALICE)[waiting:]
    assert not any(f"#{disk} resolved" in t for t in after), after
    assert f"#{disk} resolved" not in paging.texts_to(ALICE)[-1]
    assert (await incident_detail(paging, disk))["status"] == "triggered"
    assert (await incident_detail(paging, cart))["status"] == "resolved"


async def test_a_storm_of_calls_to_one_responder_is_one_call_that_announces_them_all(
    paging: Paging,
) -> None:
    # The default policy's first step is skipped at noon: carol is called at once.
    numbers = []
    for i in range(12):
        alert = am_alert(f"ca11000000000{i:03d}", alertname=f"Disk{i}", severity="critical")
        numbers.append(
            await open_incident(paging, am_payload([alert], group_key=f"{{}}:{{disk{i}}}"))
        )
    await paging.tick()
    [call] = paging.calls_to(CAROL)
    said = await paging.fake.answer_call(call["sid"], "4")
    spoken = ET.fromstring(said[0]).findtext(".//Say") or ""
    assert spoken.startswith("Klaxon page. 12 incidents."), spoken
    assert f"Incident {numbers[0]}, severity 2: Disk0 on default." in spoken
    assert "acknowledge them all" in spoken
    for number in numbers:
        assert (await incident_detail(paging, number))["status"] == "acknowledged"
    await paging.tick(minutes=30)
    assert len(paging.calls_to(CAROL)) == 1, "the other calls were announced in the first"


def _narrow_window(paging: Paging) -> None:
    runtime = paging.app.state.runtime
    runtime.settings = runtime.settings.model_copy(update={"throttle_sms": 2})


async def test_notices_never_hold_back_a_low_severity_page(paging: Paging) -> None:
    _narrow_window(paging)
    first = await open_incident(paging, checkout_alert("d100000000000001"))
    await paging.tick()
    await paging.api.post(f"/api/v1/incidents/{first}/resolve", json={"by": "carol"})
    await paging.tick(seconds=10)
    assert len(paging.texts_to(ALICE)) == 2, "a page and a notice: alice's window is full"
    low = am_payload(
        [am_alert("d400000000000001", service="checkout", severity="warning")],
        group_key="{}:{low}",
    )
    sev3 = await open_incident(paging, low)
    await paging.tick(seconds=10)
    texts = paging.texts_to(ALICE)
    assert texts[-1].startswith(f"[Klaxon] SEV3 #{sev3}"), "one page of two: it goes at once"
    assert not any(
        e["kind"] == "throttled" for e in (await incident_detail(paging, sev3))["timeline"]
    )


async def test_notices_waiting_for_a_full_window_go_as_one_digest(paging: Paging) -> None:
    _narrow_window(paging)
    numbers = [await open_incident(paging, checkout_alert(f"d20000000000000{i}")) for i in (1, 2)]
    await paging.tick()  # one bundled SMS
    numbers.append(await open_incident(paging, checkout_alert("d300000000000001")))
    await paging.tick(seconds=10)
    assert len(paging.texts_to(ALICE)) == 2
    for number in numbers:
        await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    await paging.tick(seconds=10)
    assert len(paging.texts_to(ALICE)) == 2, "the notices wait for the window"
    await paging.tick(minutes=15)
    texts = paging.texts_to(ALICE)
    assert texts[2:] == [
        f"[Klaxon] 3 notices: #{numbers[0]} resolved; #{numbers[1]} resolved; "
        f"#{numbers[2]} resolved."
    ]


async def test_a_waiting_resolved_notice_is_not_sent_once_its_incident_reopened(
    paging: Paging,
) -> None:
    _narrow_window(paging)
    await _flap(paging, "cart", "down")
    [disk] = await _flap(paging, "disk", "down")  # two pages: alice's window is full
    await _flap(paging, "cart", "up")
    await _flap(paging, "disk", "up")  # the resolved notices wait
    await _flap(paging, "disk", "down")  # disk reopens
    assert len(paging.texts_to(ALICE)) == 2
    reopened = len(paging.texts_to(ALICE))
    for _ in range(3):
        await paging.tick(minutes=16)  # the window frees, and again
    after = paging.texts_to(ALICE)[reopened:]
    assert after, "disk's page went out once the window freed"
    assert not any(f"#{disk} resolved" in t for t in after), after
    events = (await incident_detail(paging, disk))["timeline"]
    assert f"Resolved notice to alice not sent: #{disk} reopened since" in [
        e["message"] for e in events
    ]
