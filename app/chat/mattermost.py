"""Sending to Mattermost: the outbound queue's ``mattermost`` handler, and the card.

The card is a post in the main channel (``KLAXON_MATTERMOST_CHANNEL``) made by
a bot account through Mattermost's REST API v4: ``POST /api/v4/posts`` once,
then ``PUT /api/v4/posts/{id}/patch`` on every change, as queued by the card
follower (app/chat/cards.py) in the transaction of the change. Its buttons are
a message attachment's ``actions``, each with an ``integration`` (our URL and a
``context``); Mattermost posts that context back when one is pressed, and the
context carries an HMAC under ``KLAXON_MATTERMOST_ACTION_SECRET``
(:func:`sign`), so a forged press is refused (app/chat/mattermost_endpoints.py).

A post whose answer was lost (a timeout, a 5xx after the fact) may exist: a
retry first reads the channel's recent posts (``GET
/api/v4/channels/{id}/posts``) for one whose props carry the card's marker
(``klaxon_incident``), adopts it and patches it, so one incident never gets
two cards. The timeline's main events (the same as Slack's thread,
``THREAD_POSTS``) are replies to the card (``root_id``: the card's post id),
sent once it is posted, one incident's messages in order (:class:`InOrder`).

The client is plain ``httpx``: the v4 API is a few calls here, and the Python
driver (``mattermostdriver``) is synchronous (``requests``, which would block
the engine's loop) and has had no release since 2022. What a failure means:
a 429 waits its ``Retry-After`` (or ``X-Ratelimit-Reset``), a 5xx or no answer
is retried, any other 4xx (a wrong channel, a bad token) is final; the first
failure and a final one go on the timeline, as for Slack.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import partial
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat import mattermost_channels as channels
from app.chat.cards import card_state, render, status_text, store_card
from app.chat.mattermost_outcomes import failed
from app.chat.slack import InOrder
from app.db import insert_for
from app.models import chat_cards_table
from app.notify.outbound import Delivered, Handler, Outbound
from app.response.roles import current_roles
from app.settings import Settings
from app.transaction import writing

ACTIONS_PATH = "/api/v1/chat/mattermost/actions"
NOT_YET_POSTED_RETRY = 2.0
CARD_MARKER = "klaxon_incident"  # the card's props key: its incident's number
RECENT_POSTS = 200  # how far back a retry looks for a card whose answer was lost
_COLOR = {"SEV1": "#d00000", "SEV2": "#ff8800", "resolved": "#2eb886"}


def sign(secret: str, action: str, incident: int) -> str:
    """The HMAC-SHA256 a button's context carries: ``{action}:{incident}``."""
    message = f"{action}:{incident}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _button(label: str, action: str, number: int, url: str, secret: str) -> dict[str, Any]:
    context = {"action": action, "incident": number, "sig": sign(secret, action, number)}
    return {
        "id": action.replace("_", ""),
        "name": label,
        "integration": {"url": url, "context": context},
    }


def card_post(
    incident: Any, paged: list[str], commander: str | None, *, url: str, secret: str
) -> dict[str, Any]:
    """The card as a post's ``message`` and ``props`` (a message attachment)."""
    text, blocks = render(incident, paged, commander)
    fields = [
        {
            "short": True,
            "title": f["text"].split("\n", 1)[0].strip("*"),
            "value": f["text"].split("\n", 1)[1],
        }
        for b in blocks
        for f in b.get("fields", [])
    ]
    actions = []
    number = int(incident.number)
    if incident.status == "triggered":
        actions.append(_button("Acknowledge", "klaxon_ack", number, url, secret))
    if incident.status != "resolved":
        actions.append(_button("Resolve", "klaxon_resolve", number, url, secret))
        actions.append(_button("Take command", "klaxon_command", number, url, secret))
    color = _COLOR.get(
        "resolved" if incident.status == "resolved" else incident.severity, "#ffd000"
    )
    attachment = {
        "fallback": text,
        "color": color,
        "title": f"#{number} {incident.title}",
        "text": status_text(incident),
        "fields": fields,
        "actions": actions,
    }
    return {"message": text, "props": {"attachments": [attachment], CARD_MARKER: number}}


async def _row(
    sessions: async_sessionmaker[AsyncSession], number: int, channel: str, now: Any
) -> None:
    """The incident's card row (Slack's follower may have written it already)."""
    async with writing(sessions) as session:
        c = chat_cards_table.c
        await session.execute(
            insert_for(session, chat_cards_table)
            .values(incident_number=number, channel=channel, created_at=now)
            .on_conflict_do_nothing(index_elements=[c.incident_number])
        )


def _not_yet() -> Delivered:
    return Delivered(
        ok=False, summary="card not posted yet", retry_after=NOT_YET_POSTED_RETRY, timeline=False
    )


async def _posted_card(client: httpx.AsyncClient, channel: str, number: int) -> str | None:
    """The id of incident ``number``'s card among ``channel``'s recent posts
    (raises ``httpx.HTTPStatusError`` on a refusal)."""
    answer = await client.get(
        f"/api/v4/channels/{channel}/posts", params={"page": 0, "per_page": RECENT_POSTS}
    )
    answer.raise_for_status()
    posts = answer.json().get("posts") or {}
    for post in posts.values():
        if not post.get("root_id") and (post.get("props") or {}).get(CARD_MARKER) == number:
            return str(post["id"])
    return None


def mattermost_handler(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Handler:
    """The ``mattermost`` handler of the outbound queue."""
    base = str(settings.mattermost_url).rstrip("/")
    channel, secret = str(settings.mattermost_channel), str(settings.mattermost_action_secret)
    url = settings.callback_url + ACTIONS_PATH
    headers = {"Authorization": f"Bearer {settings.mattermost_bot_token}"}

    def connect() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base, headers=headers, timeout=settings.mattermost_timeout
        )

    async def card(item: Outbound) -> Delivered:
        number = int(item.payload["incident"])
        await _row(sessions, number, settings.slack_channel or channel, item.created_at)
        async with sessions() as session:
            row, incident, paged = await card_state(session, number)
            commander = (await current_roles(session, number)).commander
        post = card_post(incident, paged, commander, url=url, secret=secret)
        post_id = row.mattermost_post_id
        if post_id is None and item.payload["op"] == "update":
            return _not_yet()
        async with connect() as client:
            try:
                if post_id is None and item.attempts:  # posted, its answer lost?
                    post_id = await _posted_card(client, channel, number)
                    if post_id is not None:
                        await store_card(sessions, number, mattermost_post_id=post_id)
                if post_id is not None:
                    answer = await client.put(f"/api/v4/posts/{post_id}/patch", json=post)
                else:
                    answer = await client.post(
                        "/api/v4/posts", json={"channel_id": channel, **post}
                    )
            except httpx.HTTPStatusError as exc:
                return failed("posts", None, exc.response, item.attempts)
            except httpx.HTTPError as exc:
                return failed("posts", exc, None, item.attempts)
        if answer.status_code not in (200, 201):
            return failed("posts", None, answer, item.attempts)
        if row.mattermost_post_id is None:
            if post_id is None:
                await store_card(sessions, number, mattermost_post_id=str(answer.json()["id"]))
                return Delivered(ok=True, summary=f"Mattermost card posted in {channel}")
            return Delivered(ok=True, summary=f"Mattermost card found in {channel}")
        return Delivered(ok=True, summary="Mattermost card updated", timeline=False)

    async def thread_post(item: Outbound) -> Delivered:
        async with sessions() as session:
            row, _, _ = await card_state(session, int(item.payload["incident"]))
        if row.mattermost_post_id is None:
            return _not_yet()
        reply = {
            "channel_id": channel,
            "root_id": row.mattermost_post_id,
            "message": str(item.payload["text"]),
        }
        async with connect() as client:
            try:
                answer = await client.post("/api/v4/posts", json=reply)
            except httpx.HTTPError as exc:
                return failed("posts", exc, None, item.attempts)
        if answer.status_code != 201:
            return failed("posts", None, answer, item.attempts)
        return Delivered(ok=True, summary="told the card's thread", timeline=False)

    operations: dict[str, Handler] = {
        "post": card,
        "update": card,
        "thread_post": thread_post,
        "open_channel": partial(channels.open_channel, connect, sessions, channel),
        "channel_post": partial(channels.channel_post, connect, sessions),
        "archive_channel": partial(channels.archive_channel, connect, sessions),
    }
    in_order = InOrder()

    async def handle(item: Outbound) -> Delivered:
        operation = operations.get(str(item.payload.get("op")))
        if operation is None:
            op = item.payload.get("op")
            return Delivered(ok=False, summary=f"unknown Mattermost operation {op!r}", final=True)
        async with in_order.turn(int(item.payload["incident"])):
            return await operation(item)

    return handle
