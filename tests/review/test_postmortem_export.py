"""The post-mortem exported as Markdown (``GET .../postmortem.md``): the
playbook's example played through Klaxon, compared line for line with a
stored file, and the same text on every read. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.response.helpers import add_action_items, add_note, patch, post_update
from tests.sources.test_pagerduty import ingest_token

EXPECTED = Path(__file__).parent / "expected" / "postmortem_export.md"
DANA = "+15551230009"


async def _export(api: httpx.AsyncClient, number: int) -> str:
    resp = await api.get(f"/api/v1/incidents/{number}/postmortem.md")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "text/markdown; charset=utf-8"
    return resp.text


async def _playbook_example(paging: Paging) -> int:
    """Deploy at 14:30, error-rate alert at 14:35, rollback, restored 14:45,
    root cause 15:00: the playbook's example timeline."""
    api, clock = paging.api, paging.clock
    stakeholders = await api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    assert stakeholders.status_code == 200, stakeholders.text
    clock.advance(hours=2, minutes=30, seconds=4)  # 14:30:04
    change = await api.post(
        "/api/v1/webhooks/change",
        json={
            "service": "checkout",
            "summary": "Deployment #5678 to production",
            "who": "bob",
            "when": "2026-11-26T14:30:00Z",
        },
        headers={"Authorization": f"Bearer {await ingest_token(api)}"},
    )
    assert change.status_code == 201, change.text
    clock.advance(minutes=4, seconds=58)  # 14:35:02
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    for _ in range(3):  # Alertmanager re-sends the group
        clock.advance(seconds=20)
        await open_incident(paging, checkout_alert())
    sid = paging.fake.messages[0]["sid"]
    assert (await paging.fake.send_status_callback(sid, "delivered")).status_code == 204
    clock.advance(minutes=2, seconds=10)  # 14:38:12
    await paging.sms_reply(ALICE, f"{number}A")
    clock.advance(minutes=1, seconds=53)  # 14:40:05
    await patch(
        api,
        number,
        severity="SEV1",
        impact="50% of checkout requests failing",
        affected_customers=200,
        by="alice",
    )
    await post_update(api, number, "identified", "Rolling back deploy #5678", by="alice")
    await paging.tick()
    clock.advance(minutes=2, seconds=5)  # 14:42:10
    await patch(api, number, severity="SEV2", impact="5% of checkout requests failing")
    clock.advance(minutes=2, seconds=50)  # 14:45:00
    await post_update(api, number, "resolved", "Service restored", by="alice")
    await paging.tick()
    clock.advance(minutes=7, seconds=10)  # 14:52:10: the rollback, noted afterwards
    await add_note(api, number, "Rollback initiated", at="2026-11-26T14:40:00Z", by="alice")
    clock.advance(minutes=7, seconds=50)  # 15:00:00
    await add_note(api, number, "Root cause identified (missing database index)", by="alice")
    sections = await api.put(
        f"/api/v1/incidents/{number}/postmortem",
        json={
            "summary": "Checkout degraded due to missing database index after schema migration.",
            "root_cause": "Database query performance degraded after adding new column "
            "without index.",
            "lessons_learned": "- Schema migrations need performance testing\n"
            "- Missing index detection in CI/CD",
            "impact_notes": "~$50K revenue impact",
        },
    )
    assert sections.status_code == 200, sections.text
    await add_action_items(
        api,
        number,
        [
            ("Add index monitoring", "alice", "2026-12-03"),
            ("Update migration checklist", "bob", "2026-12-01"),
        ],
    )
    return number


async def test_the_playbook_example_exports_as_the_stored_markdown(paging: Paging) -> None:
    number = await _playbook_example(paging)
    markdown = await _export(paging.api, number)
    expected = EXPECTED.read_text().replace("#NUMBER", f"#{number}")
    assert markdown.splitlines() == expected.splitlines()
    assert markdown == expected


async def test_the_export_reads_the_same_later_and_names_its_file(paging: Paging) -> None:
    number = await _playbook_example(paging)
    first = await paging.api.get(f"/api/v1/incidents/{number}/postmortem.md")
    paging.clock.advance(days=3)
    again = await paging.api.get(f"/api/v1/incidents/{number}/postmortem.md")
    assert again.text == first.text, "nothing in it depends on when it is read"
    assert again.headers["content-disposition"] == f'inline; filename="postmortem-{number}.md"'
    draft = await paging.api.get(f"/api/v1/incidents/{number}/postmortem")
    assert draft.text == again.text, "the export is the draft"
    assert (await paging.api.get("/api/v1/incidents/99/postmortem.md")).status_code == 404
