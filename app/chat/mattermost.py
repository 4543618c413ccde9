"""Sending to Mattermost: the outbound queue's ``mattermost`` handler, and the card.

The card is a post in the main channel (``KLAXON_MATTERMOST_CHANNEL``) made by
a bot account through Mattermost's REST API v4: ``POST /api/v4/posts`` once,
then ``PUT /api/v4/posts/{id}/patch`` on every change, as queued by the card
follower (app/chat/cards.py) in the transaction of the change. Its buttons are
a message attachment's ``actions``, each with an ``integration`` (our URL and a
``context``); Mattermost posts that context back when one is pressed, and the
context carries an HMAC under ``KLAXON_MATTERMOST_ACTION_SECRET``
(:func:`sign`), so a forged press is refused (app/chat/mattermost_endpoints.py).

The client is plain ``httpx``: the v4 API is three calls here, and the Python
driver (``mattermostdriver``) is synchronous (``requests``, which would block
the engine's loop) and has had no release since 2022. What a failure means:
a 429 waits its ``Retry-After`` (or ``X-Ratelimit-Reset``), a 5xx or no answer
is retried, any other 4xx (a wrong channel, a bad token) is final; the first
failure and a final one go on the timeline, as for Slack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.cards import card_state, render, status_text, store_card
from app.db import insert_for
from app.models import chat_cards_table
from app.notify.outbound import Delivered, Handler, Outbound
from app.response.roles import current_roles
from app.settings import Settings

ACTIONS_PATH = "/api/v1/chat/mattermost/actions"
NOT_YET_POSTED_RETRY = 2.0
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
    return {"message": text, "props": {"attachments": [attachment]}}


def failed(
    call: str, exc: Exception | None, answer: httpx.Response | None, attempts: int
) -> Delivered:
    if answer is None:
        summary = f"Mattermost {call}: {type(exc).__name__}, no answer"
        return Delivered(ok=False, summary=summary, timeline=attempts == 0)
    try:
        error = json.loads(answer.text).get("id", "")
    except (ValueError, AttributeError):
        error = ""
    summary = f"Mattermost {call}: {answer.status_code} {error or 'error'}"
    if answer.status_code == 429:
        wait = answer.headers.get("retry-after") or answer.headers.get("x-ratelimit-reset")
        retry_after = float(wait) if wait and wait.isdigit() else None
        return Delivered(ok=False, summary=summary, retry_after=retry_after, timeline=attempts == 0)
    final = answer.status_code < 500
    return Delivered(ok=False, summary=summary, final=final, timeline=attempts == 0 or final)


async def _row(
    sessions: async_sessionmaker[AsyncSession], number: int, channel: str, now: Any
) -> None:
    """The incident's card row (Slack's follower may have written it already)."""
    async with sessions() as session, session.begin():
        c = chat_cards_table.c
        await session.execute(
            insert_for(session, chat_cards_table)
            .values(incident_number=number, channel=channel, created_at=now)
            .on_conflict_do_nothing(index_elements=[c.incident_number])
        )


def mattermost_handler(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Handler:
    """The ``mattermost`` handler of the outbound queue."""
    base = str(settings.mattermost_url).rstrip("/")
    channel, secret = str(settings.mattermost_channel), str(settings.mattermost_action_secret)
    url = settings.callback_url + ACTIONS_PATH
    headers = {"Authorization": f"Bearer {settings.mattermost_bot_token}"}

    async def handle(item: Outbound) -> Delivered:
        number = int(item.payload["incident"])
        await _row(sessions, number, settings.slack_channel or channel, item.created_at)
        async with sessions() as session:
            row, incident, paged = await card_state(session, number)
            commander = (await current_roles(session, number)).commander
        post = card_post(incident, paged, commander, url=url, secret=secret)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=settings.mattermost_timeout
        ) as client:
            if row.mattermost_post_id is None and item.payload["op"] == "update":
                return Delivered(
                    ok=False,
                    summary="card not posted yet",
                    retry_after=NOT_YET_POSTED_RETRY,
                    timeline=False,
                )
            try:
                if row.mattermost_post_id is not None:
                    answer = await client.put(
                        f"/api/v4/posts/{row.mattermost_post_id}/patch", json=post
                    )
                else:
                    answer = await client.post(
                        "/api/v4/posts", json={"channel_id": channel, **post}
                    )
            except httpx.HTTPError as exc:
                return failed("posts", exc, None, item.attempts)
        if answer.status_code not in (200, 201):
            return failed("posts", None, answer, item.attempts)
        if row.mattermost_post_id is None:
            await store_card(sessions, number, mattermost_post_id=str(answer.json()["id"]))
            return Delivered(ok=True, summary=f"Mattermost card posted in {channel}")
        return Delivered(ok=True, summary="Mattermost card updated", timeline=False)

    return handle
