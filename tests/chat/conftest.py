"""Klaxon on the paging harness (fake Twilio, ManualClock) with a fake Slack:
requests signed as Slack signs them, the card read from the fake's messages."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.fakes.slack_server import (
    FakeSlack,
    action_form,
    command_form,
    signed_headers,
)
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ONCALL, Paging, serve_paging

__all__ = ["Chat", "chat", "chat_channels"]

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"
CHANNEL = "C0CARDS"
SLACK_IDS = {"alice": "U0ALICE", "bob": "U0BOB", "carol": "U0CAROL"}
STRANGER = "U0STRANGER"


@dataclass
class Chat:
    paging: Paging
    slack: FakeSlack

    async def post(
        self, path: str, body: bytes, *, age: float = 0, retry: int = 0, secret: str | None = None
    ) -> httpx.Response:
        """``body`` posted as Slack posts it, signed ``age`` seconds ago."""
        stamp = int(self.paging.clock.now().timestamp() - age)
        headers = signed_headers(secret or SIGNING_SECRET, stamp, body, retry=retry)
        return await self.paging.api.post(path, content=body, headers=headers)

    async def command(
        self, user: str, command: str, text: str = "", *, channel: str = CHANNEL, **how: Any
    ) -> httpx.Response:
        body = command_form(
            command,
            text,
            user_id=SLACK_IDS.get(user, user),
            response_url=self.slack.response_url(),
            channel_id=channel,
        )
        return await self.post("/api/v1/chat/slack/commands", body, **how)

    async def say(self, user: str, command: str, text: str = "", channel: str = "C0CARDS") -> str:
        """The ephemeral answer to a command that Slack accepted (200)."""
        resp = await self.command(user, command, text, channel=channel)
        assert resp.status_code == 200, resp.text
        assert resp.json()["response_type"] == "ephemeral"
        return str(resp.json()["text"])

    async def press(self, user: str, action: str, number: int) -> httpx.Response:
        body = action_form(
            action,
            str(number),
            user_id=SLACK_IDS.get(user, user),
            response_url=self.slack.response_url("press"),
        )
        return await self.post("/api/v1/chat/slack/actions", body)

    def card(self, number: int) -> dict[str, Any]:
        """The card of incident ``number`` as the channel shows it now."""
        found = [m for m in self.slack.messages.values() if f"#{number} " in str(m["text"])]
        assert len(found) == 1, self.slack.messages
        return found[0]


def chat_oncall() -> dict[str, Any]:
    document = copy.deepcopy(ONCALL)
    for responder in document["responders"]:
        responder["slack_user_id"] = SLACK_IDS[responder["name"]]
    return document


@contextlib.asynccontextmanager
async def serve_chat(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Chat]:
    async with FakeSlack(BOT_TOKEN, clock=lambda: clock.now().timestamp()) as slack:
        settings = {
            "slack_signing_secret": SIGNING_SECRET,
            "slack_bot_token": BOT_TOKEN,
            "slack_channel": CHANNEL,
            "slack_api_url": slack.api_url,
            **overrides,
        }
        async with serve_paging(db, fake_twilio, clock, **settings) as paging:
            applied = await paging.api.post("/api/v1/oncall-config", json=chat_oncall())
            assert applied.status_code == 200, applied.text
            yield Chat(paging=paging, slack=slack)


@pytest.fixture
async def chat(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Chat]:
    """Cards only: no incident channels (tests/chat/test_channels.py has those)."""
    async with serve_chat(db, fake_twilio, clock, slack_incident_channel_severities="") as c:
        yield c


@pytest.fixture
async def chat_channels(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> AsyncIterator[Chat]:
    """Cards, and a channel for each SEV1/SEV2 incident (the default)."""
    async with serve_chat(db, fake_twilio, clock) as c:
        yield c
