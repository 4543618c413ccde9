"""Post-mortem drafts: the playbook's template, the sections people write, and
a timeline that names systems and actions, not people."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.response.helpers import add_note, patch, report

SECTIONS = ["## Summary", "## Timeline", "## Root Cause", "## Impact", "## Lessons Learned"]


async def _draft(client: httpx.AsyncClient, number: int) -> str:
    resp = await client.get(f"/api/v1/incidents/{number}/postmortem")
    assert resp.status_code == 200, resp.text
    return resp.text


async def test_the_draft_follows_the_template_before_anyone_writes(
    client: httpx.AsyncClient,
) -> None:
    number = (await report(client))["number"]
    markdown = await _draft(client, number)
    lines = markdown.splitlines()
    assert lines[0] == f"# Post-Mortem: Incident #{number}"
    assert "_Blameless: this review is about systems and processes, not individuals._" in lines
    positions = [lines.index(heading) for heading in [*SECTIONS, "## Action Items"]]
    assert positions == sorted(positions)
    assert "_Draft: Payment Service Degraded (SEV 2, service payments), still open." in markdown
    assert "_To be written: what in the system allowed this to happen" in markdown
    assert "- Duration: ongoing since 2026-11-26 12:00:00 UTC" in markdown
    assert markdown.endswith("|------|-------|-----|\n\n_None yet._\n")


async def test_written_sections_are_saved_and_kept_across_puts(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    url = f"/api/v1/incidents/{number}/postmortem"
    first = await client.put(url, json={"summary": "Payments failed.", "by": "alice"})
    assert first.status_code == 200
    clock.advance(minutes=5)
    second = await client.put(url, json={"root_cause": "Missing index.", "impact_notes": None})
    body = second.json()
    assert body["summary"] == "Payments failed.", "a section left out stays"
    assert body["root_cause"] == "Missing index."
    assert body["updated_by"] == "admin"
    assert body["updated_at"] == "2026-11-26T12:05:00Z"
    assert "## Summary\nPayments failed.\n" in body["markdown"]
    assert "## Root Cause\nMissing index.\n" in body["markdown"]
    as_json = (await client.get(url, params={"format": "json"})).json()
    assert as_json == body
    cleared = (await client.put(url, json={"summary": None})).json()
    assert cleared["summary"] is None
    assert "_Draft: " in cleared["markdown"]


async def test_unknown_sections_and_incidents_are_refused(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    bad = await client.put(f"/api/v1/incidents/{number}/postmortem", json={"blame": "bob"})
    assert bad.status_code == 422
    assert (await client.get("/api/v1/incidents/99/postmortem")).status_code == 404
    assert (await client.put("/api/v1/incidents/99/postmortem", json={})).status_code == 404


async def test_the_timeline_names_no_one_the_system_recorded(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.put("/api/v1/responders/alice", json={"phone": "+15551230001", "time_zone": "UTC"})
    number = (await report(client, by="carol.support"))["number"]
    clock.advance(minutes=2)
    await client.post(
        f"/api/v1/incidents/{number}/acknowledge", json={"by": "alice", "note": "on it"}
    )
    await client.post(
        f"/api/v1/incidents/{number}/notes",
        json={"text": "@alice and carol.support rolled back", "by": "dave"},
    )
    await patch(client, number, severity="SEV1", by="dave")
    clock.advance(hours=13)
    await client.post(f"/api/v1/incidents/{number}/resolve", json={"by": "dave"})
    markdown = await _draft(client, number)
    timeline = markdown.split("## Timeline\n")[1].split("\n## ")[0]
    written = "12:02:00 - Note: @alice and carol.support rolled back"
    assert written in timeline, "what a person wrote is shown as written"
    for name in ("alice", "carol", "dave"):
        assert name not in timeline.replace(written, ""), "no one the system recorded is named"
    assert "12:02:00 - Acknowledged by the incident commander via api: on it" in timeline
    assert "12:02:00 - Severity changed from SEV2 to SEV1" in timeline
    assert "_2026-11-27_\n01:02:00 - Resolved via api" in timeline, "a new day is marked"
    assert "- Duration: 13h 02m" in markdown
    assert "- Severity: SEV 1" in markdown


async def test_the_words_people_wrote_stay_as_written(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    made = await client.put("/api/v1/responders/max", json={"phone": "+15551230004"})
    assert made.status_code in (200, 201), made.text
    number = (await report(client))["number"]
    clock.advance(minutes=2)
    acked = await client.post(
        f"/api/v1/incidents/{number}/acknowledge",
        json={"by": "max", "note": "checking max connections"},
    )
    assert acked.status_code == 200, acked.text
    await add_note(client, number, "Raised max connections to 500", by="max")
    await patch(client, number, impact="Checkout at max latency", by="max")
    markdown = await _draft(client, number)
    timeline = markdown.split("## Timeline\n")[1].split("\n## ")[0]
    assert (
        "12:02:00 - Acknowledged by the incident commander via api: checking max connections"
        in timeline
    )
    assert "12:02:00 - Note: Raised max connections to 500" in timeline
    assert "12:02:00 - Impact: Checkout at max latency" in timeline
    assert "a responder connections" not in markdown
    assert "- Checkout at max latency" in markdown
    assert "Acknowledged by max" not in timeline, "who the system recorded is not named"
