"""``/incident declare`` alone opens Slack's modal (``views.open`` with the
command's trigger_id); its submission declares the incident, or shows what is
wrong under the field."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import STRANGER, Chat
from tests.fakes.slack_server import view_submission_form
from tests.paging import ALICE, incident_detail


def _text(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def _severity(value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"value": {"type": "static_select", "selected_option": option}}


async def _submit(chat: Chat, user: str, values: dict[str, Any]) -> Any:
    body = view_submission_form(chat.slack.views[-1], values, user_id=user)
    return await chat.post("/api/v1/chat/slack/actions", body)


async def test_the_form_declares_with_severity_service_and_impact(chat: Chat) -> None:
    answer = await chat.say("alice", "/incident", "declare")
    assert answer == "Fill in the form to declare the incident."
    opened = chat.slack.calls_of("views.open")
    assert len(opened) == 1 and opened[0]["trigger_id"].startswith("13345224609.")
    view = chat.slack.views[-1]
    assert [b["block_id"] for b in view["blocks"]] == ["title", "severity", "service", "impact"]
    assert view["private_metadata"] == "C0CARDS"

    resp = await _submit(
        chat,
        "U0ALICE",
        {
            "title": _text("Checkout down in EU"),
            "severity": _severity("SEV1"),
            "service": _text("checkout"),
            "impact": _text("All EU card payments fail"),
        },
    )
    assert (resp.status_code, resp.content) == (200, b""), "an empty 200 closes the modal"
    detail = await incident_detail(chat.paging, 1)
    assert (detail["title"], detail["severity"], detail["service"]) == (
        "Checkout down in EU",
        "SEV1",
        "checkout",
    )
    assert detail["impact"] == "All EU card payments fail"
    await chat.paging.tick()
    assert chat.card(1)["text"] == "SEV1 #1 Checkout down in EU: Triggered"
    assert len(chat.paging.texts_to(ALICE)) == 1, "paging started"

    partial = await chat.post(
        "/api/v1/chat/slack/actions",
        view_submission_form(view, {"title": _text("x")}, user_id="U0ALICE"),
    )
    assert partial.json()["errors"] == {"severity": "Required", "service": "Required"}


async def test_a_bad_form_shows_errors_under_its_fields(chat: Chat) -> None:
    await chat.say("alice", "/incident", "declare")
    resp = await _submit(chat, "U0ALICE", {"title": _text("  "), "severity": _severity("SEV2")})
    assert resp.status_code == 200
    assert resp.json() == {
        "response_action": "errors",
        "errors": {"title": "Required", "service": "Required"},
    }
    listed = (await chat.paging.api.get("/api/v1/incidents")).json()["items"]
    assert listed == []


async def test_a_stranger_gets_no_form_and_cannot_submit_one(chat: Chat) -> None:
    answer = await chat.say(STRANGER, "/incident", "declare")
    assert answer.startswith("Sorry, your Slack user")
    assert chat.slack.views == []
    await chat.say("alice", "/incident", "declare")
    values = {"title": _text("x"), "severity": _severity("SEV1"), "service": _text("checkout")}
    resp = await _submit(chat, STRANGER, values)
    errors = resp.json()["errors"]
    assert errors["title"].startswith("Sorry, your Slack user")
    assert (await chat.paging.api.get("/api/v1/incidents")).json()["items"] == []


async def test_slack_refusing_the_form_is_told(chat: Chat) -> None:
    chat.slack.fail_next(1, status=500)
    answer = await chat.say("alice", "/incident", "declare")
    assert answer.startswith("Could not open the form (Slack views.open: 500 fatal_error)")
    assert "/incident declare <title>" in answer
