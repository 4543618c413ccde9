"""Slash commands as Slack sends them: signed, form-encoded, answered with
ephemeral text, acting as the responder the Slack user is mapped to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat.conftest import STRANGER, Chat
from tests.paging import ALICE, BOB, checkout_alert, incident_detail, open_incident


async def _status(chat: Chat, number: int) -> str:
    return str((await incident_detail(chat.paging, number))["status"])


@pytest.mark.parametrize(
    ("how", "why"),
    [
        ({"secret": "not-the-signing-secret"}, "forged"),
        ({"age": 6 * 60}, "six minutes old"),
        ({"age": -6 * 60}, "six minutes ahead"),
    ],
)
async def test_a_request_not_signed_by_slack_just_now_is_refused(
    chat: Chat, how: dict[str, Any], why: str
) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    resp = await chat.command("alice", "/incident", f"ack #{number}", **how)
    assert resp.status_code == 401, why
    assert await _status(chat, number) == "triggered"


async def test_an_unsigned_request_is_refused(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    resp = await chat.paging.api.post(
        "/api/v1/chat/slack/commands",
        content=f"command=/incident&text=ack+{number}&user_id=U0ALICE".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 401
    assert "X-Slack-Signature" in resp.json()["detail"]
    assert await _status(chat, number) == "triggered"


async def test_a_body_changed_after_signing_is_refused(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    stamp = int(chat.paging.clock.now().timestamp())
    from tests.fakes.slack_server import command_form, signed_headers

    body = command_form("/incident", "", user_id="U0ALICE", response_url="https://x.invalid/")
    headers = signed_headers("8f742231b10e8888abcd99yyyzzz85a5", stamp, body)
    tampered = body.replace(b"text=&", f"text=resolve+{number}&".encode())
    assert tampered != body
    resp = await chat.paging.api.post(
        "/api/v1/chat/slack/commands", content=tampered, headers=headers
    )
    assert resp.status_code == 401
    assert await _status(chat, number) == "triggered"


async def test_an_unknown_slack_user_is_refused_politely_and_nothing_changes(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    for text in (f"ack #{number}", f"resolve #{number}", "declare Everything is on fire SEV1"):
        answer = await chat.say(STRANGER, "/incident", text)
        assert answer.startswith("Sorry, your Slack user")
        assert "nothing was changed" in answer
    pressed = await chat.press(STRANGER, "klaxon_resolve", number)
    assert pressed.status_code == 200
    await chat.paging.tick()
    assert await _status(chat, number) == "triggered"
    listed = (await chat.paging.api.get("/api/v1/incidents")).json()["items"]
    assert [i["number"] for i in listed] == [number], "nothing was declared"
    assert chat.slack.responses[-1]["text"].startswith("Sorry, your Slack user")


async def test_ack_and_resolve_act_as_the_mapped_responder(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    assert len(chat.paging.texts_to(ALICE)) == 1

    assert await chat.say("bob", "/incident", f"ack #{number}") == f"#{number} acknowledged"
    detail = await incident_detail(chat.paging, number)
    assert detail["acknowledged_by"] == "bob"
    ack = next(e for e in detail["timeline"] if e["kind"] == "acknowledged")
    assert ack["message"] == f"Acknowledged by bob (not paged for #{number}) via slack"

    await chat.paging.tick(minutes=30)
    assert chat.paging.texts_to(BOB) == [], "acknowledged: the secondary is never paged"
    assert await chat.say("alice", "/incident", "resolve") == f"#{number} resolved"
    assert await _status(chat, number) == "resolved"
    assert await chat.say("alice", "/incident", "resolve 1") == f"#{number} is already resolved"


async def test_slacks_retry_of_a_command_acts_once(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await open_incident(chat.paging, checkout_alert("c0ffee0000000002"))
    from tests.fakes.slack_server import command_form

    body = command_form(
        "/incident",
        f"update #{number} identified rollback started",
        user_id="U0ALICE",
        response_url=chat.slack.response_url(),
    )
    first = await chat.post("/api/v1/chat/slack/commands", body)
    assert first.json()["text"].startswith(f"#{number} status update posted (identified)")
    again = await chat.post("/api/v1/chat/slack/commands", body, retry=1)
    assert again.status_code == 200
    assert again.json()["text"].startswith("Already done")
    updates = (await chat.paging.api.get(f"/api/v1/incidents/{number}/updates")).json()
    assert [(u["phase"], u["message"]) for u in updates] == [("identified", "rollback started")]


async def test_incident_alone_lists_the_open_incidents(chat: Chat) -> None:
    assert await chat.say("alice", "/incident") == "No open incidents."
    first = await open_incident(chat.paging, checkout_alert())
    second = await open_incident(chat.paging, checkout_alert("c0ffee0000000002"))
    await chat.say("bob", "/incident", f"ack {second}")
    answer = await chat.say("alice", "/incident")
    assert answer.splitlines() == [
        "Open incidents:",
        f"• *#{second}* SEV2 acknowledged by bob: checkout errors",
        f"• *#{first}* SEV2 triggered: checkout errors",
    ]
    which = await chat.say("alice", "/incident", "resolve")
    assert which == f"Which incident? Name it with `#n` (open: #{second} #{first})."


async def test_declare_opens_and_pages_an_incident(chat: Chat) -> None:
    answer = await chat.say(
        "alice", "/incident", "declare Checkout is down for EU SEV1 service:checkout"
    )
    assert (
        answer
        == "Declared #1 (SEV1, service checkout): Checkout is down for EU. Paging has started."
    )
    detail = await incident_detail(chat.paging, 1)
    assert (detail["severity"], detail["title"], detail["service"]) == (
        "SEV1",
        "Checkout is down for EU",
        "checkout",
    )
    await chat.paging.tick()
    assert chat.paging.texts_to(ALICE)[0].startswith("[Klaxon] SEV1 #1 Checkout is down for EU")
    assert (await chat.say("alice", "/incident", "declare SEV2")).startswith("Give the incident")


async def test_update_needs_a_known_status(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    answer = await chat.say("alice", "/incident", f"update #{number} fixing it")
    assert answer.startswith("Say the status first: one of investigating, identified")
    answer = await chat.say("alice", "/incident", "update #99 identified found it")
    assert answer == "Nothing changed: No incident #99"
    assert (await chat.paging.api.get(f"/api/v1/incidents/{number}/updates")).json() == []


async def test_oncall_says_who_now_until_when_and_who_next(chat: Chat) -> None:
    answer = await chat.say("carol", "/oncall", "checkout-primary")
    assert answer == "On call now:\n• *checkout-primary*: alice until further notice"
    assert await chat.say("carol", "/oncall", "nope") == "No schedule 'nope'."
    everyone = await chat.say("carol", "/oncall")
    assert "• *checkout-secondary*: bob until" in everyone
    assert "• *nights-only*: nobody until 2026-11-27 00:00 UTC, then carol" in everyone


async def test_a_signed_action_that_is_not_json_is_a_400(chat: Chat) -> None:
    resp = await chat.post("/api/v1/chat/slack/actions", b"payload=%7Bnot+json")
    assert resp.status_code == 400
    assert "payload" in resp.json()["detail"]


async def test_a_button_pressed_twice_acts_once(chat: Chat) -> None:
    from tests.fakes.slack_server import action_form

    number = await open_incident(chat.paging, checkout_alert())
    body = action_form(
        "klaxon_resolve", str(number), user_id="U0ALICE", response_url=chat.slack.response_url()
    )
    assert (await chat.post("/api/v1/chat/slack/actions", body)).status_code == 200
    assert (await chat.post("/api/v1/chat/slack/actions", body, retry=1)).status_code == 200
    await chat.paging.tick()
    assert [r["text"] for r in chat.slack.responses] == [f"#{number} resolved"]
    timeline = (await incident_detail(chat.paging, number))["timeline"]
    resolved = [e["message"] for e in timeline if e["kind"] == "resolved"]
    assert resolved == [f"Resolved by alice (not paged for #{number}) via slack"]
