"""The incident page's actions without JavaScript: each a plain form that POSTs
and redirects back, through the API's own functions, with the signed-in
responder as the actor; bad input re-shows the page with the reason as a 4xx
and changes nothing."""

from __future__ import annotations

import httpx

from tests.console.helpers import console_client, csrf_of, sign_in
from tests.paging import ALICE, BOB, CAROL, Paging, checkout_alert, incident_detail, open_incident


async def _post(
    client: httpx.AsyncClient, number: int, action: str, **fields: str
) -> httpx.Response:
    page = await client.get(f"/incidents/{number}")
    return await client.post(
        f"/incidents/{number}/{action}", data={"csrf": csrf_of(page), **fields}
    )


async def test_escalate_now_pages_the_next_step_at_once(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1 and paging.texts_to(BOB) == []
    async with console_client(paging) as client:
        await sign_in(client, paging, CAROL)
        answer = await _post(client, number, "escalate")
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/incidents/{number}?notice=escalated"
        await paging.tick()  # no time passes: step 2 is due now
        assert len(paging.texts_to(BOB)) == 1 and len(paging.calls_to(BOB)) == 1
        page = await client.get(answer.headers["location"])
        assert "carol escalated now: step 2 is due at once" in page.text
        assert "Escalated: the next step pages now." in page.text
        # Step 2 was the last: nothing is left to bring forward.
        again = await _post(client, number, "escalate")
        assert again.status_code == 409 and "add a responder instead" in again.text
    await paging.tick(minutes=10)
    assert len(paging.texts_to(BOB)) == 1  # once, not again when its delay ran out


async def test_escalate_now_is_refused_once_acknowledged(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.api.post(f"/api/v1/incidents/{number}/acknowledge")
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        answer = await _post(client, number, "escalate")
        assert answer.status_code == 409 and "its escalation has stopped" in answer.text
    await paging.tick(minutes=30)
    assert paging.texts_to(BOB) == []


async def test_change_severity_is_on_the_timeline_and_a_bad_one_is_refused(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    before = (await incident_detail(paging, number))["severity"]
    after = "SEV4" if before != "SEV4" else "SEV3"
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        bad = await _post(client, number, "severity", severity="SEV9")
        assert bad.status_code == 422 and "&#39;SEV9&#39; is not one of" in bad.text
        assert (await incident_detail(paging, number))["severity"] == before
        done = await _post(client, number, "severity", severity=after)
        assert done.status_code == 303
        page = await client.get(done.headers["location"])
        assert f"Severity changed from {before} to {after}" in page.text
    timeline = (await paging.api.get(f"/api/v1/incidents/{number}/timeline")).json()
    changed = [e for e in timeline if e["kind"] == "severity_changed"]
    assert [(e["actor"], e["data"]["to"]) for e in changed] == [("alice", after)]


async def test_add_responder_pages_them_and_an_unknown_name_is_a_404(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        unknown = await _post(client, number, "responders", responder="mallory")
        assert unknown.status_code == 404 and "no responder &#39;mallory&#39;" in unknown.text
        assert 'value="mallory"' in unknown.text  # the form as typed
        added = await _post(client, number, "responders", responder="carol")
        assert added.headers["location"].endswith("notice=responder-added")
    await paging.tick()
    assert any(f"#{number}" in text for text in paging.texts_to(CAROL))


async def test_take_command_makes_the_viewer_commander(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        page = await client.get(f"/incidents/{number}")
        assert 'id="take-command"' in page.text
        taken = await _post(client, number, "command")
        page = await client.get(taken.headers["location"])
        assert '<dd id="role-commander"><bdi>bob</bdi></dd>' in page.text
        assert 'id="take-command"' not in page.text
    roles = (await incident_detail(paging, number))["roles"]
    assert roles["commander"] == "bob"


async def test_a_status_update_is_previewed_then_posted(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    message = "Rolled back the 14:02 deploy"
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        shown = await _post(
            client, number, "updates", phase="identified", message=message, do="preview"
        )
        assert shown.status_code == 200
        assert f"Incident #{number} - " in shown.text and "Status: Identified" in shown.text
        assert "Identified (SEV " in shown.text and message in shown.text  # the SMS
        assert f">{message}</textarea>" in shown.text  # the form kept as typed
        updates = await paging.api.get(f"/api/v1/incidents/{number}/updates")
        assert updates.json() == []  # a preview posts nothing
        empty = await _post(client, number, "updates", phase="identified", message="", do="post")
        assert empty.status_code == 422 and "message" in empty.text
        posted = await _post(
            client, number, "updates", phase="identified", message=message, do="post"
        )
        assert posted.headers["location"].endswith("notice=update-posted")
    updates = (await paging.api.get(f"/api/v1/incidents/{number}/updates")).json()
    assert [(u["phase"], u["message"], u["by"]) for u in updates] == [
        ("identified", message, "alice")
    ]


async def test_post_mortem_sections_and_action_items(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        saved = await _post(
            client, number, "postmortem", summary="Checkout failed", root_cause="A bad deploy"
        )
        assert saved.headers["location"].endswith("notice=postmortem-saved")
        bad = await _post(client, number, "action-items", task="Add a canary", owner="bob", due="")
        assert bad.status_code == 422 and "due" in bad.text
        added = await _post(
            client, number, "action-items", task="Add a canary", owner="bob", due="2026-12-15"
        )
        assert added.headers["location"].endswith("notice=item-added")
        items = (await paging.api.get(f"/api/v1/incidents/{number}/action-items")).json()
        assert [(i["task"], i["owner"], i["status"]) for i in items] == [
            ("Add a canary", "bob", "open")
        ]
        done = await _post(client, number, f"action-items/{items[0]['id']}", status="done")
        assert done.headers["location"].endswith("notice=item-changed")
        page = await client.get(f"/incidents/{number}")
        assert ">Checkout failed</textarea>" in page.text
    pm = (
        await paging.api.get(f"/api/v1/incidents/{number}/postmortem", params={"format": "json"})
    ).json()
    assert pm["summary"] == "Checkout failed" and pm["root_cause"] == "A bad deploy"
    items = (await paging.api.get(f"/api/v1/incidents/{number}/action-items")).json()
    assert items[0]["status"] == "done"


async def test_a_form_without_its_csrf_token_changes_nothing(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        for action, fields in (
            ("severity", {"severity": "SEV4"}),
            ("escalate", {}),
            ("command", {}),
            ("updates", {"phase": "identified", "message": "x", "do": "post"}),
        ):
            refused = await client.post(f"/incidents/{number}/{action}", data=fields)
            assert refused.status_code == 403, action
    detail = await incident_detail(paging, number)
    assert detail["severity"] != "SEV4" and detail["roles"]["commander"] is None
    assert (await paging.api.get(f"/api/v1/incidents/{number}/updates")).json() == []
