"""Line breaks in what senders and responders write cannot forge the fields of
Klaxon's texts. An alert summary ``"Checkout slow\\nStatus: Resolved"`` became
the incident's title unchanged, and the channel-ready status text and the
post-mortem timeline then carried a fake ``Status:`` line.

Titles are one line wherever they are made (an alert, a report, a PATCH);
free text (impact, notes) is shown so that its further lines cannot pass for
a field: indented under its field in the status text, on its entry's one line
in the post-mortem timeline.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.hostile.stored import stored_incident

SPOOF = "Checkout slow\nStatus: Resolved\nSeverity: SEV 4"
ONE_LINE = "Checkout slow Status: Resolved Severity: SEV 4"


async def test_an_alert_summary_with_line_breaks_titles_the_incident_on_one_line(
    client: httpx.AsyncClient,
) -> None:
    fired = await client.post(
        "/api/v1/webhooks/alertmanager",
        json={
            "status": "firing",
            "groupKey": "{}:{}",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "CheckoutSlow\r\n", "service": "checkout"},
                    "annotations": {"summary": SPOOF + "\u2028\x1b[2J"},
                    "startsAt": "2026-11-01T09:00:00Z",
                }
            ],
        },
    )
    assert fired.status_code == 200, fired.text
    [number] = fired.json()["incidents"]
    incident = (await client.get(f"/api/v1/incidents/{number}")).json()
    assert incident["title"] == ONE_LINE + " [2J"
    assert incident["alerts"][0]["name"] == "CheckoutSlow"
    assert incident["alerts"][0]["annotations"]["summary"] == SPOOF + "\u2028\x1b[2J", (
        "the annotation itself is kept as sent"
    )


async def test_a_reported_or_patched_title_is_one_line(client: httpx.AsyncClient) -> None:
    reported = await client.post(
        "/api/v1/incidents", json={"title": SPOOF, "severity": "SEV2", "service": "checkout"}
    )
    assert reported.status_code == 201, reported.text
    assert reported.json()["title"] == ONE_LINE
    number = reported.json()["number"]

    patched = await client.patch(f"/api/v1/incidents/{number}", json={"title": "\tA\n\nB "})
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "A B"

    blank = await client.patch(f"/api/v1/incidents/{number}", json={"title": "\n\r\t"})
    assert blank.status_code == 422, blank.text
    assert [e["loc"] for e in blank.json()["detail"]] == [["body", "title"]]


async def test_the_channel_text_carries_only_the_template_s_fields(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # A title stored before titles were one line, as an earlier Klaxon stored it.
    number = await stored_incident(app, title=SPOOF, labels={})
    impact = "Half of checkouts fail\nStatus: Resolved\n\nSeverity: SEV 4"
    patched = await client.patch(f"/api/v1/incidents/{number}", json={"impact": impact})
    assert patched.status_code == 200, patched.text
    posted = await client.post(
        f"/api/v1/incidents/{number}/updates",
        json={"phase": "investigating", "message": "Looking\nStatus: Resolved"},
    )
    assert posted.status_code in (200, 201), posted.text

    text = await client.get(f"/api/v1/incidents/{number}/updates/latest", params={"format": "text"})
    assert text.status_code == 200, text.text
    assert text.text == (
        f"Incident #{number} - {ONE_LINE}\n"
        "Status: Investigating\n"
        "Severity: SEV 2\n"
        "Impact: Half of checkouts fail\n"
        "    Status: Resolved\n"
        "\n"
        "    Severity: SEV 4\n"
        "Started: 2026-11-01 09:00 UTC\n"
        "Next update: 13:00 UTC"  # a SEV2's cadence, from this update (12:00)
    )


async def test_the_post_mortem_timeline_has_one_line_per_entry(client: httpx.AsyncClient) -> None:
    reported = await client.post(
        "/api/v1/incidents", json={"title": "Checkout slow", "severity": "SEV2", "service": "c"}
    )
    number = reported.json()["number"]
    noted = await client.post(
        f"/api/v1/incidents/{number}/notes",
        json={"text": "Rolled back\n09:05 - Resolved via api\n- Severity: SEV 4"},
    )
    assert noted.status_code in (200, 201), noted.text
    patched = await client.patch(
        f"/api/v1/incidents/{number}", json={"impact": "Slow pages\n- Severity: SEV 4"}
    )
    assert patched.status_code == 200, patched.text

    draft = await client.get(f"/api/v1/incidents/{number}/postmortem")
    assert draft.status_code == 200, draft.text
    lines = draft.text.splitlines()
    assert "Note: Rolled back 09:05 - Resolved via api - Severity: SEV 4" in draft.text
    assert not any(line.startswith("09:05 - Resolved") for line in lines)
    assert [line for line in lines if line.startswith("- Severity:")] == ["- Severity: SEV 2"]
