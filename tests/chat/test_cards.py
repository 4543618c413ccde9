"""One card per incident in the main channel, edited in place on every change
from any channel, sent through the outbound queue after commit; a Slack outage
never holds a page back."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import CHANNEL, Chat
from tests.paging import ALICE, BOB, checkout_alert, incident_detail, open_incident


def _sev1() -> dict[str, Any]:
    return checkout_alert(alertname="DatabaseDown", env="prod")


def _buttons(card: dict[str, Any]) -> list[str]:
    actions = [b for b in card["blocks"] if b["type"] == "actions"]
    return [e["action_id"] for a in actions for e in a["elements"]]


async def test_sev1_card_follows_sms_ack_and_slack_resolve(chat: Chat) -> None:
    number = await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    posted = chat.slack.posts()
    assert len(posted) == 1 and posted[0]["channel"] == CHANNEL
    card = chat.card(number)
    assert card["text"].startswith(f"SEV1 #{number} ")
    assert card["text"].endswith(": Triggered")
    assert _buttons(card) == ["klaxon_ack", "klaxon_resolve", "klaxon_command"]
    assert "alice (sms)" in str(card["blocks"]), "who is paged"

    before = len(chat.slack.calls_of("chat.update"))
    reply = await chat.paging.sms_reply(BOB, f"{number}A")
    assert reply.status_code == 200
    assert len(chat.slack.calls_of("chat.update")) == before, "sent only by the engine"
    await chat.paging.tick()
    updates = chat.slack.calls_of("chat.update")
    assert len(updates) > before
    assert (updates[-1]["channel"], updates[-1]["ts"]) == (CHANNEL, card["ts"])
    card = chat.card(number)
    assert card["text"].endswith(": Acknowledged by bob")
    assert _buttons(card) == ["klaxon_resolve", "klaxon_command"]

    answer = await chat.say("alice", "/incident", f"resolve #{number}")
    assert answer == f"#{number} resolved"
    await chat.paging.tick(minutes=30)
    card = chat.card(number)
    assert card["text"].endswith(": Resolved by alice")
    assert _buttons(card) == []
    assert len(chat.slack.posts()) == 1, "one card, edited in place"
    detail = await incident_detail(chat.paging, number)
    assert detail["status"] == "resolved"
    assert chat.paging.texts_to(BOB) == [], "the escalation stopped with the ack"
    assert chat.paging.texts_to(ALICE)[-1].startswith(f"[Klaxon] #{number} resolved")


async def test_the_cards_buttons_act_and_tell_the_presser(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    pressed = await chat.press("alice", "klaxon_ack", number)
    assert pressed.status_code == 200
    assert (await incident_detail(chat.paging, number))["acknowledged_by"] == "alice"
    await chat.paging.tick()
    assert chat.card(number)["text"].endswith(": Acknowledged by alice")
    assert chat.slack.responses[-1] == {
        "text": f"#{number} acknowledged",
        "response_type": "ephemeral",
        "replace_original": False,
    }


async def test_api_and_triage_changes_update_the_card(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    patched = await chat.paging.api.patch(
        f"/api/v1/incidents/{number}", json={"title": "Checkout 500s in EU", "severity": "SEV1"}
    )
    assert patched.status_code == 200, patched.text
    await chat.paging.tick()
    assert chat.card(number)["text"] == f"SEV1 #{number} Checkout 500s in EU: Triggered"


async def test_a_slack_outage_never_delays_a_page_and_the_card_catches_up(chat: Chat) -> None:
    chat.slack.fail_next(3, status=500)
    number = await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    assert len(chat.paging.texts_to(ALICE)) == 1, "paged at once, Slack down or not"
    assert chat.slack.messages == {}
    await chat.paging.tick(minutes=5)
    assert len(chat.paging.texts_to(BOB)) == 1, "the secondary on time"
    for _ in range(6):
        await chat.paging.tick(minutes=1)
    assert chat.card(number)["text"].startswith(f"SEV1 #{number} ")
    timeline = (await incident_detail(chat.paging, number))["timeline"]
    assert any("Slack chat.postMessage: 500" in e["message"] for e in timeline), timeline


async def test_a_rate_limit_waits_out_retry_after(chat: Chat) -> None:
    chat.slack.fail_next(1, status=429, retry_after=30)
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    assert len(chat.slack.posts()) == 1
    assert chat.slack.messages == {}
    await chat.paging.tick(seconds=20)
    assert len(chat.slack.posts()) == 1, "not before Retry-After"
    await chat.paging.tick(seconds=11)
    assert len(chat.slack.posts()) == 2
    assert chat.card(number)["text"].endswith(": Triggered")


async def test_a_wrong_channel_is_given_up_on_and_shown(chat: Chat) -> None:
    chat.slack.channels.clear()
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    await chat.paging.tick(minutes=10)
    assert len(chat.slack.posts()) == 1, "channel_not_found is final"
    timeline = (await incident_detail(chat.paging, number))["timeline"]
    assert any("channel_not_found" in e["message"] for e in timeline), timeline
    assert len(chat.paging.texts_to(ALICE)) == 1
