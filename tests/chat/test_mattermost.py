"""Mattermost: slash commands with their token, the card posted and edited
through REST API v4 by the outbound queue, its buttons signed; against a fake
Mattermost on loopback that speaks its wire format."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.clock import ManualClock
from tests.fakes.mattermost_server import FakeMattermost, command_form
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import (
    ALICE,
    BOB,
    ONCALL,
    Paging,
    checkout_alert,
    incident_detail,
    open_incident,
    serve_paging,
)

BOT_TOKEN = "9w6rdhjcgjnx3cp3o8w4fx7kpr"
COMMAND_TOKEN = "xmd6g8jchjdffpsi3u6u7b4aqr"
SECRET = "a-long-random-string-that-signs-the-buttons"
CHANNEL = "qmd5oqtwoibz8cuzxzg5ekshgr"
MM_IDS = {
    "alice": "aaaaaaaaaaaaaaaaaaaaaaaaa1",
    "bob": "bbbbbbbbbbbbbbbbbbbbbbbbb2",
    "carol": "ccccccccccccccccccccccccc3",
}
STRANGER = "zzzzzzzzzzzzzzzzzzzzzzzzz9"


@dataclass
class Mm:
    paging: Paging
    server: FakeMattermost

    async def command(
        self, user: str, command: str, text: str = "", *, token: str = COMMAND_TOKEN
    ) -> httpx.Response:
        body = command_form(
            token,
            command,
            text,
            user_id=MM_IDS.get(user, user),
            channel_id=CHANNEL,
            response_url="https://mattermost.example.com/hooks/commands/x",
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self.paging.api.post(
            "/api/v1/chat/mattermost/commands", content=body, headers=headers
        )

    async def say(self, user: str, command: str, text: str = "") -> str:
        resp = await self.command(user, command, text)
        assert resp.status_code == 200, resp.text
        return str(resp.json()["text"])

    async def press(self, user: str, number: int, name: str, **context: Any) -> httpx.Response:
        url, body = self.server.press(number, name, user_id=MM_IDS.get(user, user))
        body["context"] = {**body["context"], **context}
        return await self.paging.api.post(urlsplit(url).path, json=body)


@contextlib.asynccontextmanager
async def serve_mattermost(
    db: str, fake: FakeTwilio, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Mm]:
    async with FakeMattermost(BOT_TOKEN, channels={CHANNEL}) as server:
        settings = {
            "mattermost_url": server.url,
            "mattermost_bot_token": BOT_TOKEN,
            "mattermost_channel": CHANNEL,
            "mattermost_command_tokens": f"someothertoken,{COMMAND_TOKEN}",
            "mattermost_action_secret": SECRET,
            **overrides,
        }
        async with serve_paging(db, fake, clock, **settings) as paging:
            document = copy.deepcopy(ONCALL)
            for responder in document["responders"]:
                responder["mattermost_user_id"] = MM_IDS[responder["name"]]
            applied = await paging.api.post("/api/v1/oncall-config", json=document)
            assert applied.status_code == 200, applied.text
            yield Mm(paging=paging, server=server)


@pytest.fixture
async def mm(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Mm]:
    """The card only: no incident channels (test_mattermost_channels.py has those)."""
    async with serve_mattermost(
        db, fake_twilio, clock, slack_incident_channel_severities=""
    ) as served:
        yield served


async def test_card_follows_an_sms_ack_and_a_button_resolve(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert(alertname="DatabaseDown", env="prod"))
    await mm.paging.tick()
    creates = mm.server.card_posts()
    assert len(creates) == 1 and creates[0]["channel_id"] == CHANNEL
    card = mm.server.card(number)
    assert card["message"] == f"SEV1 #{number} checkout errors: Triggered"
    assert mm.server.buttons(number) == ["Acknowledge", "Resolve", "Take command"]

    assert (await mm.paging.sms_reply(BOB, f"{number}A")).status_code == 200
    await mm.paging.tick()
    assert mm.server.card(number)["message"].endswith(": Acknowledged by bob")
    assert mm.server.buttons(number) == ["Resolve", "Take command"]

    pressed = await mm.press("alice", number, "Resolve")
    assert pressed.status_code == 200
    assert pressed.json() == {"ephemeral_text": f"#{number} resolved"}
    await mm.paging.tick(minutes=30)
    assert mm.server.card(number)["message"].endswith(": Resolved by alice")
    assert mm.server.buttons(number) == []
    assert len(mm.server.card_posts()) == 1, "one card, patched"
    assert mm.paging.texts_to(BOB) == [], "the escalation stopped with the ack"
    assert mm.paging.texts_to(ALICE)[-1].startswith(f"[Klaxon] #{number} resolved")


async def test_commands_act_as_the_mapped_responder(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert())
    assert (
        await mm.say("alice", "/incident", f"role ic @bob #{number}") == f"#{number} roles: IC: bob"
    )
    assert await mm.say("bob", "/incident", f"ack #{number}") == f"#{number} acknowledged"
    assert (await mm.say("bob", "/oncall")).startswith("On call now:")
    post = await mm.command("bob", "/postmortem", f"#{number}")
    assert post.json()["response_type"] == "in_channel"
    assert post.json()["text"].endswith(f"/api/v1/incidents/{number}/postmortem.md")
    detail = await incident_detail(mm.paging, number)
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "bob")
    timeline = [e["message"] for e in detail["timeline"]]
    assert "Acknowledged by bob (not paged for #1) via mattermost" in timeline


async def test_a_wrong_token_or_forged_button_is_refused(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    wrong = await mm.command("alice", "/incident", f"resolve #{number}", token="guessed")
    assert wrong.status_code == 401
    assert "token" in wrong.json()["detail"]
    forged = await mm.press("alice", number, "Acknowledge", action="klaxon_resolve")
    assert forged.status_code == 401
    other = await mm.press("alice", number, "Acknowledge", incident=number + 1)
    assert other.status_code == 401
    assert (await incident_detail(mm.paging, number))["status"] == "triggered"


async def test_a_stranger_is_refused_politely(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    answer = await mm.say(STRANGER, "/incident", f"resolve #{number}")
    assert answer.startswith("Sorry, your Mattermost user is not mapped")
    pressed = await mm.press(STRANGER, number, "Resolve")
    assert pressed.json()["ephemeral_text"].startswith("Sorry, your Mattermost user")
    assert (await incident_detail(mm.paging, number))["status"] == "triggered"


async def test_a_rate_limit_waits_and_never_delays_a_page(mm: Mm) -> None:
    mm.server.rate_limit_next(1, reset=30)
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    assert len(mm.paging.texts_to(ALICE)) == 1, "paged at once"
    assert mm.server.posts == {}
    await mm.paging.tick(seconds=20)
    assert mm.server.posts == {}, "not before Retry-After"
    await mm.paging.tick(seconds=11)
    assert mm.server.card(number)["message"].endswith(": Triggered")
    timeline = (await incident_detail(mm.paging, number))["timeline"]
    assert any("Mattermost posts: 429" in e["message"] for e in timeline), timeline


async def test_a_channel_the_bot_is_not_in_is_given_up_on(mm: Mm) -> None:
    mm.server.channels.clear()
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    await mm.paging.tick(minutes=10)
    assert len(mm.server.card_posts()) == 1, "a 403 is final"
    timeline = (await incident_detail(mm.paging, number))["timeline"]
    assert any("api.context.permissions.app_error" in e["message"] for e in timeline), timeline


async def test_a_lost_post_answer_makes_no_second_card(mm: Mm) -> None:
    mm.server.lose_next_answer("POST /api/v4/posts")
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    assert len(mm.server.posts) == 1, "posted, but Klaxon heard a 500"
    await mm.paging.tick(seconds=10)  # the retry
    assert len(mm.server.card_posts()) == 1, "found among the channel's posts, not posted again"
    looked = [c for c in mm.server.calls if c["method"] == "GET"]
    assert [c["path"] for c in looked] == [f"/api/v4/channels/{CHANNEL}/posts"]
    assert mm.server.card(number)["props"]["klaxon_incident"] == number
    assert (await mm.paging.sms_reply(BOB, f"{number}A")).status_code == 200
    await mm.paging.tick()
    assert mm.server.card(number)["message"].endswith(": Acknowledged by bob"), "edited in place"
    assert len(mm.server.card_posts()) == 1


async def test_the_cards_thread_tells_the_main_events_in_order(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert())
    await mm.paging.tick()
    card = mm.server.card(number)
    pressed = await mm.press("alice", number, "Acknowledge")
    assert pressed.status_code == 200
    await mm.paging.tick()
    await mm.say("alice", "/incident", f"update #{number} identified rollback started")
    await mm.paging.tick()
    assert mm.server.replies(card["id"]) == [
        "Incident opened: checkout errors (SEV2, service checkout)",
        "Step 1: paging alice by sms",
        "Acknowledged by alice via mattermost",
        "Status update (Identified): rollback started",
    ]
    assert len(mm.server.card_posts()) == 1, "the thread holds the events, the channel one card"
