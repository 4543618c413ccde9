"""The issue's scenario, end to end against the fake Slack and the fake Twilio:
SEV1 fires → channel and card; bob acks by SMS → the card says so at the next
run of the engine (no clock moved); alice takes command and posts an update →
topic, channel, stakeholder SMS; resolve by button → card, channel and SMS
agree; ``/postmortem`` posts the draft link."""

from __future__ import annotations

from tests.chat.conftest import CHANNEL, Chat
from tests.paging import ALICE, BOB, PUBLIC_URL, checkout_alert, incident_detail, open_incident

DANA = "+15551230009"


async def test_the_issue_scenario(chat_channels: Chat) -> None:
    chat = chat_channels
    stakeholders = await chat.paging.api.put(
        "/api/v1/services/checkout/stakeholders",
        json=[{"name": "dana", "phone": DANA, "opt_in": True}],
    )
    assert stakeholders.status_code == 200, stakeholders.text
    number = await open_incident(chat.paging, checkout_alert(alertname="DatabaseDown", env="prod"))
    await chat.paging.tick()
    channel = chat.slack.made["inc-1-checkout-errors"]
    assert chat.card(number)["text"] == "SEV1 #1 checkout errors: Triggered"

    assert (await chat.paging.sms_reply(BOB, "1A")).status_code == 200
    await chat.paging.tick()  # the engine's next run, woken by the commit: no time passes
    assert chat.card(number)["text"] == "SEV1 #1 checkout errors: Acknowledged by bob"

    assert await chat.say("alice", "/incident", "role ic <@U0ALICE>", channel) == (
        "#1 roles: IC: alice"
    )
    said = await chat.say("alice", "/incident", 'update identified "rollback started"', channel)
    assert said == "#1 status update posted (identified), texted to 1 stakeholder(s)."
    await chat.paging.tick(seconds=10)
    posts = [c["text"] for c in chat.slack.posts() if c["channel"] == channel]
    assert "command handed from bob to alice" in posts
    assert "Status update (Identified): rollback started" in posts
    assert chat.slack.topics[channel] == "SEV1 · Acknowledged by bob · #1 checkout errors"
    assert any("rollback started" in t for t in chat.paging.texts_to(DANA))
    fields = [f["text"] for b in chat.card(number)["blocks"] for f in b.get("fields", [])]
    assert "*Commander*\nalice" in fields

    pressed = await chat.press("alice", "klaxon_resolve", number)
    assert pressed.status_code == 200
    await chat.paging.tick(seconds=10)
    assert chat.card(number)["text"] == "SEV1 #1 checkout errors: Resolved by alice"
    assert chat.slack.topics[channel] == "SEV1 · Resolved by alice · #1 checkout errors"
    assert [c["text"] for c in chat.slack.posts() if c["channel"] == channel][-1] == (
        "Resolved by alice via slack"
    )
    detail = await incident_detail(chat.paging, number)
    assert (detail["status"], detail["resolved_by"]) == ("resolved", "alice")
    await chat.paging.tick(minutes=30)
    assert chat.paging.texts_to(BOB) == [], "his ack stopped the escalation before step 2"
    assert len(chat.paging.texts_to(ALICE)) == 2, "the page, then the resolution; no more"

    link = await chat.command("alice", "/postmortem", "", channel=channel)
    draft = f"{PUBLIC_URL}/api/v1/incidents/1/postmortem.md"
    assert link.json() == {
        "response_type": "in_channel",
        "text": f"Post-mortem of #1 (started, Markdown): {draft}",
    }
    thread = chat.slack.threads[(CHANNEL, chat.card(number)["ts"])]
    assert thread[-1] == "Resolved by alice via slack"
