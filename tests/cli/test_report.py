"""``klaxon report`` against a real Klaxon over HTTP: response times as a table
of human durations, pages per responder with off-hours, ``--json`` as the API."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import Served, klaxon
from tests.conftest import ADMIN_TOKEN
from tests.fakes.twilio_server import serve_asgi
from tests.paging import Paging, checkout_alert, open_incident

Env = dict[str, str]


async def _incident(served: Served, **fields: str) -> int:
    body = {"title": "Checkout down", "severity": "SEV2", "service": "web", **fields}
    made = await served.api.post("/api/v1/incidents", json=body)
    assert made.status_code == 201, made.text
    number: int = made.json()["number"]
    return number


async def _act(served: Served, number: int, action: str) -> None:
    done = await served.api.post(f"/api/v1/incidents/{number}/{action}")
    assert done.status_code == 200, done.text


async def test_report_shows_times_as_durations_and_json_as_seconds(
    served: Served, admin: Env
) -> None:
    web = await _incident(served)
    db = await _incident(served, service="db", severity="SEV1")
    served.clock.advance(seconds=52.753065)
    await _act(served, web, "acknowledge")
    served.clock.advance(minutes=3, seconds=17.246935)  # 4m 10s after they opened
    await _act(served, db, "acknowledge")
    await _act(served, web, "resolve")
    served.clock.advance(hours=1, minutes=2, seconds=2)
    await _act(served, db, "resolve")

    result = await klaxon("report", env=admin)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Incidents opened from 2026-10-27 13:06 UTC to 2026-11-26 13:06 UTC"
    rows = [re.split(r"\s{2,}", line) for line in lines[2:6]]
    assert rows == [
        [
            *("SERVICE", "SEVERITY", "INCIDENTS", "ACKED", "RESOLVED"),
            *("MTTA", "P90 TTA", "MTTR", "P90 TTR"),
        ],
        ["db", "SEV1", "1", "1", "1", "4m 10s", "4m 10s", "1h 06m", "1h 06m"],
        ["web", "SEV2", "1", "1", "1", "53s", "53s", "4m 10s", "4m 10s"],
        ["all", "-", "2", "2", "2", "2m 31s", "4m 10s", "35m 11s", "1h 06m"],
    ]
    assert "No pages sent." in lines

    as_json = json.loads((await klaxon("report", "--json", env=admin)).stdout)
    web_times = next(g for g in as_json["by_service_severity"] if g["service"] == "web")
    assert web_times["mtta_seconds"] == 53.0, "seconds, rounded to the second"
    assert as_json["overall"]["mttr_seconds"] == 2111.0

    only_db = await klaxon("report", "--service", "db", env=admin)
    assert "on db" in only_db.stdout.splitlines()[0]
    assert "web" not in only_db.stdout
    bad = await klaxon(
        "report", "--since", "2026-12-01T00:00:00Z", "--until", "2026-11-01", env=admin
    )
    assert bad.exit_code != 0 and "since" in bad.stderr


async def test_report_counts_pages_per_responder_and_off_hours(paging: Paging) -> None:
    # Thursday 12:00 UTC: 07:00 for alice in New York, 13:00 for bob in Berlin.
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)  # step 2: bob, by SMS and call
    acked = await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "bob"})
    assert acked.status_code == 200
    async with serve_asgi(paging.app) as url:
        result = await klaxon("report", env={"KLAXON_URL": url, "KLAXON_TOKEN": ADMIN_TOKEN})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index(
        "Pages per responder (off-hours: outside 09:00-18:00 Mon-Fri in their time zone)"
    )
    assert [re.split(r"\s{2,}", line) for line in lines[start + 1 :]] == [
        ["RESPONDER", "PAGES", "SMS", "CALLS", "INCIDENTS", "OFF-HOURS", "TIME ZONE"],
        ["bob", "2", "1", "1", "1", "0", "Europe/Berlin"],
        ["alice", "1", "1", "0", "1", "1", "America/New_York"],
    ]
    checkout = re.split(r"\s{2,}", lines[3])
    assert checkout[:5] == ["checkout", "SEV2", "1", "1", "0"]
    assert checkout[5:] == ["5m 00s", "5m 00s", "-", "-"]
