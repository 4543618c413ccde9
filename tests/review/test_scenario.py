"""The whole response, as a team lives it: an Alertmanager alert pages the
on-call, who acknowledges by SMS, posts status updates and resolves; the
post-mortem's timeline lists all of it in order, and its action items are
tracked to completion."""

from __future__ import annotations

from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.response.helpers import add_action_items, patch, post_update


async def test_from_alert_to_post_mortem_and_tracked_action_items(paging: Paging) -> None:
    api = paging.api
    number = await open_incident(paging, checkout_alert())  # 12:00
    await paging.tick()
    [page] = paging.texts_to(ALICE)
    assert f"Reply {number}A to ack" in page
    delivered = await paging.fake.send_status_callback(paging.fake.messages[0]["sid"], "delivered")
    assert delivered.status_code == 204

    paging.clock.advance(minutes=3)  # 12:03
    reply = await paging.sms_reply(ALICE, f"{number}A")
    assert f"#{number} acknowledged" in reply.text

    paging.clock.advance(minutes=2)  # 12:05
    await patch(
        api,
        number,
        impact="50% of checkout requests failing",
        affected_customers=200,
        started_at="2026-11-26T11:55:00Z",
        recent_changes="Deploy #5678 at 11:54",
    )
    await post_update(api, number, "investigating", "Errors began with deploy #5678")
    paging.clock.advance(minutes=5)  # 12:10
    await post_update(api, number, "identified", "Rolling back deploy #5678")
    note = await api.post(
        f"/api/v1/incidents/{number}/notes", json={"text": "alice started the rollback"}
    )
    assert note.status_code == 201
    paging.clock.advance(minutes=10)  # 12:20
    await post_update(api, number, "monitoring", "Error rate back to normal")
    paging.clock.advance(minutes=25)  # 12:45
    await post_update(api, number, "resolved", "Rollback complete", by="alice")
    await paging.tick()
    assert (await api.get(f"/api/v1/incidents/{number}")).json()["status"] == "resolved"

    saved = await api.put(
        f"/api/v1/incidents/{number}/postmortem",
        json={
            "summary": "Checkout failed for half of its requests after deploy #5678.",
            "root_cause": "A new query ran without an index.",
            "lessons_learned": "- Schema migrations need performance testing",
            "impact_notes": "~$50K revenue impact",
        },
    )
    assert saved.status_code == 200, saved.text
    await add_action_items(
        api,
        number,
        [
            ("Add index monitoring", "alice", "2026-12-03"),
            ("Update migration checklist", "bob", "2026-11-30"),
        ],
    )

    draft = await api.get(f"/api/v1/incidents/{number}/postmortem")
    assert draft.headers["content-type"].startswith("text/markdown")
    markdown = draft.text
    assert markdown.startswith(f"# Post-Mortem: Incident #{number}\n")
    timeline = markdown.split("## Timeline\n")[1].split("\n## ")[0]
    lines = [line for line in timeline.splitlines() if line[:2].isdigit()]
    expected_in_order = [
        "11:55:00 - Impact began (start time from triage)",
        "12:00:00 - Incident opened: checkout errors (SEV2, service checkout)",
        "12:00:00 - Alert fired: checkout errors",
        "12:00:00 - Escalation policy checkout-oncall started",
        "12:00:00 - Step 1: paged the incident commander by SMS",
        "12:03:00 - Acknowledged by the incident commander via sms",
        "12:05:00 - Impact: 50% of checkout requests failing",
        "12:05:00 - Status update (Investigating): Errors began with deploy #5678",
        "12:10:00 - Status update (Identified): Rolling back deploy #5678",
        "12:10:00 - Note: alice started the rollback",
        "12:20:00 - Status update (Monitoring): Error rate back to normal",
        "12:45:00 - Status update (Resolved): Rollback complete",
        "12:45:00 - Resolved by the incident commander via api",
        "12:45:00 - Resolved notice sent to the incident commander by SMS",
    ]
    positions = [lines.index(line) for line in expected_in_order]
    assert positions == sorted(positions), lines
    recorded = timeline.replace("Note: alice started the rollback", "")
    assert "alice" not in recorded and "bob" not in recorded, "no one the system recorded"
    assert "delivered" not in timeline, "a confirmed delivery is folded into its step"
    assert "_Blameless: this review is about systems and processes, not individuals._" in markdown
    impact = markdown.split("## Impact\n")[1].split("\n## ")[0]
    assert "- Duration: 50m 00s (2026-11-26 11:55:00 to 2026-11-26 12:45:00 UTC)" in impact
    assert "- 200 affected customers" in impact
    assert "- People paged: 1 person (1 page sent)" in impact
    assert "- Time to acknowledge: 3m 00s" in impact
    assert "~$50K revenue impact" in impact
    assert markdown.rstrip().endswith(
        "## Action Items\n"
        "| Task | Owner | Due |\n"
        "|------|-------|-----|\n"
        "| Add index monitoring | @alice | 2026-12-03 |\n"
        "| Update migration checklist | @bob | 2026-11-30 |"
    )

    # Tracked to completion: a week later, one is overdue; done, it is not.
    paging.clock.advance(days=7)
    overdue = (await api.get("/api/v1/action-items", params={"overdue": "true"})).json()
    assert [(i["task"], i["incident"]) for i in overdue] == [("Update migration checklist", number)]
    done = await api.patch(f"/api/v1/action-items/{overdue[0]['id']}", json={"status": "done"})
    assert done.json()["status"] == "done"
    assert (await api.get("/api/v1/action-items", params={"overdue": "true"})).json() == []
    still_open = (await api.get("/api/v1/action-items", params={"status": "open"})).json()
    assert [i["task"] for i in still_open] == ["Add index monitoring"]
    final = (await api.get(f"/api/v1/incidents/{number}/postmortem")).text
    assert "| Update migration checklist (done) | @bob | 2026-11-30 |" in final
