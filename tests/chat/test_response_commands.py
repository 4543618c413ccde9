"""``/incident role``, ``/incident publish|public``, ``/postmortem`` and the card's
Take command button and thread, as Slack sends and shows them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.chat.conftest import CHANNEL, Chat, serve_chat
from tests.conftest import RULES
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import PUBLIC_URL, checkout_alert, incident_detail, open_incident
from tests.statuspage.conftest import STATUS_BLOCK


async def _roles(chat: Chat, number: int) -> dict[str, object]:
    roles: dict[str, object] = (await incident_detail(chat.paging, number))["roles"]
    return roles


async def test_role_by_mention_or_name_and_cleared(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    answer = await chat.say("alice", "/incident", f"role ic <@U0BOB|bob> #{number}")
    assert answer == f"#{number} roles: IC: bob"
    assert await chat.say("bob", "/incident", "role comms @carol") == (
        f"#{number} roles: IC: bob · Comms: carol"
    )
    assert (await chat.say("bob", "/incident", "role sme alice")).endswith("SME: alice")
    roles = await _roles(chat, number)
    assert (roles["commander"], roles["comms"], roles["sme"]) == ("bob", "carol", ["alice"])
    assert await chat.say("bob", "/incident", "role comms none") == (
        f"#{number}: nobody is comms any more."
    )
    assert (await _roles(chat, number))["comms"] is None
    timeline = [e["message"] for e in (await incident_detail(chat.paging, number))["timeline"]]
    assert "bob took command" in timeline and "carol is communications lead" in timeline


async def test_a_role_for_a_stranger_or_in_bad_words_changes_nothing(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    answer = await chat.say("alice", "/incident", "role ic <@U0STRANGER>")
    assert answer.startswith("<@U0STRANGER> is not a Klaxon responder")
    assert (await chat.say("alice", "/incident", "role chef @bob")).startswith("Usage:")
    assert (await chat.say("alice", "/incident", "role ic")).startswith("Usage:")
    assert (await chat.say("alice", "/incident", "role ic @bob #999")) == "No incident #999"
    assert (await _roles(chat, number))["commander"] is None
    assert (await chat.say("U0STRANGER", "/incident", "role ic @bob")).startswith("Sorry")


async def test_take_command_button_acknowledges_and_shows_on_the_card(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    assert "*Commander*\\nnobody yet" in str(chat.card(number)["blocks"]).replace("\n", "\\n")
    pressed = await chat.press("carol", "klaxon_command", number)
    assert pressed.status_code == 200
    detail = await incident_detail(chat.paging, number)
    assert (detail["status"], detail["roles"]["commander"]) == ("acknowledged", "carol")
    await chat.paging.tick()
    card = chat.card(number)
    assert "*Commander*\ncarol" in [f["text"] for b in card["blocks"] for f in b.get("fields", [])]
    assert chat.slack.responses[-1]["text"] == f"#{number} acknowledged; you have command"
    await chat.press("bob", "klaxon_command", number)
    assert (await _roles(chat, number))["commander"] == "bob"
    await chat.paging.tick()
    thread = chat.slack.threads[(CHANNEL, card["ts"])]
    assert "command handed from carol to bob" in thread


async def test_the_cards_thread_tells_the_main_events_in_order(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.paging.tick()
    card = chat.card(number)
    await chat.press("alice", "klaxon_ack", number)
    await chat.paging.tick()
    await chat.say("alice", "/incident", f"update #{number} identified rollback started")
    await chat.paging.tick()
    thread = chat.slack.threads[(CHANNEL, card["ts"])]
    assert thread == [
        "Incident opened: checkout errors (SEV2, service checkout)",
        "Step 1: paging alice by sms",
        "Acknowledged by alice via slack",
        "Status update (Identified): rollback started",
    ]
    assert len(chat.slack.posts()) == 1, "the thread holds the events, the channel one card"


async def test_postmortem_creates_the_draft_and_posts_its_link(chat: Chat) -> None:
    number = await open_incident(chat.paging, checkout_alert())
    await chat.say("alice", "/incident", f"resolve #{number}")
    resp = await chat.command("alice", "/postmortem", "")
    assert resp.status_code == 200
    link = f"{PUBLIC_URL}/api/v1/incidents/{number}/postmortem.md"
    assert resp.json() == {
        "response_type": "in_channel",
        "text": f"Post-mortem of #{number} (started, Markdown): {link}",
    }
    again = await chat.command("bob", "/postmortem", f"#{number}")
    assert again.json()["text"] == f"Post-mortem of #{number} (draft, Markdown): {link}"
    draft = await chat.paging.api.get(
        f"/api/v1/incidents/{number}/postmortem", params={"format": "json"}
    )
    assert draft.json()["updated_by"] == "alice"
    assert (await chat.say("alice", "/postmortem", "#999")) == "No incident #999"


@pytest.fixture
async def chat_page(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Chat]:
    """Cards, and a status page that shows checkout."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text() + STATUS_BLOCK)
    async with serve_chat(
        db, fake_twilio, clock, slack_incident_channel_severities="", config=rules
    ) as c:
        yield c


async def test_only_the_commander_or_comms_lead_publishes(chat_page: Chat) -> None:
    chat = chat_page
    number = await open_incident(chat.paging, checkout_alert())
    words = f"publish #{number} Slow checkout | We are looking into slow checkouts."
    refused = await chat.say("bob", "/incident", words)
    assert refused.startswith(f"Only #{number}'s commander or communications lead")
    assert (await chat.paging.api.get(f"/api/v1/incidents/{number}/public")).status_code == 404

    await chat.say("alice", "/incident", f"role comms @bob #{number}")
    answer = await chat.say("bob", "/incident", words)
    assert (
        answer == f"#{number} is on the status page as 'Slow checkout' (checkout Partial outage)."
    )
    page = (await chat.paging.api.get("/status/api/v2/summary.json")).json()
    assert [i["name"] for i in page["incidents"]] == ["Slow checkout"]
    assert {c["name"]: c["status"] for c in page["components"]}["Checkout"] == "partial_outage"

    assert await chat.say("bob", "/incident", f"public #{number} resolved Fixed.") == (
        f"#{number} status page update posted (Resolved)."
    )
    public = (await chat.paging.api.get(f"/api/v1/incidents/{number}/public")).json()
    assert (public["status"], public["updates"][0]["author"]) == ("resolved", "bob")
    page = (await chat.paging.api.get("/status/api/v2/summary.json")).json()
    assert page["incidents"] == [], "the page read the update afresh"
    again = await chat.say("bob", "/incident", f"public #{number} monitoring Still fine.")
    assert again.startswith("Nothing changed:") and "resolved on the status page" in again
    assert (await chat.say("bob", "/incident", "publish no bar here")).startswith("Usage:")
