"""Response-time reports: MTTA and MTTR (mean and p90) by service and severity,
on-call load per responder with the pages outside working hours, and the same
times as Prometheus histograms."""

from __future__ import annotations

import re

import httpx

from app.clock import ManualClock
from tests.paging import Paging, checkout_alert, open_incident
from tests.response.helpers import report

REPORT = "/api/v1/reports/response"


async def _ack(client: httpx.AsyncClient, number: int) -> None:
    assert (await client.post(f"/api/v1/incidents/{number}/acknowledge")).status_code == 200


async def _resolve(client: httpx.AsyncClient, number: int) -> None:
    assert (await client.post(f"/api/v1/incidents/{number}/resolve")).status_code == 200


async def test_mean_and_p90_times_by_service_and_severity(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    a = (await report(client))["number"]
    b = (await report(client))["number"]
    c = (await report(client, service="search", severity="SEV3"))["number"]
    clock.advance(minutes=2)
    await _ack(client, a)
    clock.advance(minutes=2)
    await _ack(client, b)
    clock.advance(minutes=6)
    await _ack(client, c)
    clock.advance(minutes=20)
    await _resolve(client, a)
    clock.advance(minutes=30)
    await _resolve(client, b)

    body = (await client.get(REPORT)).json()
    assert body["since"] == "2026-10-27T13:00:00Z", "30 days back by default"
    assert body["until"] == "2026-11-26T13:00:00Z"
    assert body["overall"] == {
        "incidents": 3,
        "acknowledged": 3,
        "resolved": 2,
        "mtta_seconds": 320.0,
        "p90_tta_seconds": 600.0,
        "mttr_seconds": 2700.0,
        "p90_ttr_seconds": 3600.0,
    }
    assert body["by_service_severity"] == [
        {
            "service": "payments",
            "severity": "SEV2",
            "incidents": 2,
            "acknowledged": 2,
            "resolved": 2,
            "mtta_seconds": 180.0,
            "p90_tta_seconds": 240.0,
            "mttr_seconds": 2700.0,
            "p90_ttr_seconds": 3600.0,
        },
        {
            "service": "search",
            "severity": "SEV3",
            "incidents": 1,
            "acknowledged": 1,
            "resolved": 0,
            "mtta_seconds": 600.0,
            "p90_tta_seconds": 600.0,
            "mttr_seconds": None,
            "p90_ttr_seconds": None,
        },
    ]
    search = (await client.get(REPORT, params={"service": "search"})).json()
    assert [g["service"] for g in search["by_service_severity"]] == ["search"]
    assert search["overall"]["incidents"] == 1


async def test_the_window_counts_incidents_by_when_they_were_opened(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await report(client)
    clock.advance(days=2)
    await report(client)
    window = {"since": "2026-11-27T00:00:00Z", "until": "2026-11-29T00:00:00Z"}
    assert (await client.get(REPORT, params=window)).json()["overall"]["incidents"] == 1
    naive = {"since": "2026-11-26", "until": "2026-11-27"}
    assert (await client.get(REPORT, params=naive)).json()["overall"]["incidents"] == 1
    backwards = await client.get(
        REPORT, params={"since": window["until"], "until": window["since"]}
    )
    assert backwards.status_code == 400
    empty = (await client.get(REPORT, params={"service": "nothing"})).json()
    assert empty["overall"]["incidents"] == 0
    assert empty["overall"]["mtta_seconds"] is None
    assert empty["responders"] == []


async def test_pages_per_responder_count_those_outside_working_hours(paging: Paging) -> None:
    # Thursday 12:00 UTC: 07:00 for alice in New York, 13:00 for bob in Berlin.
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)  # step 2: bob, by SMS and call
    await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "bob"})
    body = (await paging.api.get(REPORT, params={"service": "checkout"})).json()
    assert body["responders"] == [
        {
            "responder": "bob",
            "time_zone": "Europe/Berlin",
            "pages": 2,
            "sms": 1,
            "calls": 1,
            "incidents": 1,
            "off_hours_pages": 0,
        },
        {
            "responder": "alice",
            "time_zone": "America/New_York",
            "pages": 1,
            "sms": 1,
            "calls": 0,
            "incidents": 1,
            "off_hours_pages": 1,
        },
    ]
    other = (await paging.api.get(REPORT, params={"service": "search"})).json()
    assert other["responders"] == []


def _count(metrics: str, name: str, severity: str) -> float:
    found = re.search(rf'^{name}_count{{severity="{severity}"}} (\S+)$', metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_time_to_resolve_is_a_prometheus_histogram(client: httpx.AsyncClient) -> None:
    name = "klaxon_time_to_resolve_seconds"
    before = _count((await client.get("/metrics")).text, name, "SEV4")
    number = (await report(client, severity="SEV4"))["number"]
    await _resolve(client, number)
    after = (await client.get("/metrics")).text
    assert _count(after, name, "SEV4") == before + 1
    assert f'{name}_bucket{{le="60.0",severity="SEV4"}}' in after


async def test_times_are_rounded_to_the_second(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    clock.advance(seconds=52.753065)
    await _ack(client, number)
    times = (await client.get(REPORT)).json()["overall"]
    assert times["mtta_seconds"] == 53.0
    assert times["p90_tta_seconds"] == 53.0
