"""Sending to Slack: the outbound queue's ``slack`` handler.

Every message to Slack was queued in the transaction that decided it
(app/chat/cards.py, app/chat/endpoints.py); the engine hands each to
:func:`slack_handler`'s handler after commit, which makes one call and says how
it went (``Delivered``); the queue retries, never twice for one key.

Operations (``payload["op"]``):

``post``     the incident's card: ``chat.postMessage`` in the main channel; the
             message's ``ts`` is stored so that every later change edits it. A
             retry first looks for a card a lost answer hid (``conversations.history``,
             by the card's message metadata), so one incident never gets two.
``update``   ``chat.update`` of the card, as the incident is now; retried while
             the card is not yet posted.
``thread_post``
             one of the timeline's main events, a reply in the card's thread
             (``thread_ts``: the card's ``ts``); waits until the card is posted.
``respond``  a message to a ``response_url`` Slack gave with a command or click
             (an ephemeral answer to a button press).
``open_channel``, ``channel_post``, ``archive_channel``
             an incident's own channel and what is told there (app/chat/channels.py).

The client is ``slack_sdk``'s ``AsyncWebClient``, unmodified, at
``KLAXON_SLACK_API_URL``. Its pitfalls, handled here:

- An ``ok: false`` answer, a non-200 status and a 429 all raise
  ``SlackApiError``; app/chat/outcomes.py tells them apart.
- Only connection errors are retried inside the client (its default handlers);
  rate limits come back here, so the queue's backoff, not a sleep in the
  engine's loop, waits them out.
- The queue sends what is due at once, one task each. The messages of one
  incident (card and channel) go one at a time, in the order the queue hands
  them over (:class:`InOrder`), so the card ends at the last change and the
  channel reads in order (one replica's order; replicas do not order among
  themselves).
- The bot token is never in a summary or a log line: summaries name the method
  and Slack's error code only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat import channels
from app.chat.cards import card_state, render, store_card
from app.chat.outcomes import failed
from app.notify.outbound import Delivered, Handler, Outbound
from app.response.roles import current_roles
from app.settings import Settings

NOT_YET_POSTED_RETRY = 2.0  # seconds before an update looks again for its card's ts
CARD_EVENT_TYPE = "klaxon_incident_card"
HISTORY_PAGE = 200  # messages per conversations.history page
HISTORY_SLACK = timedelta(minutes=1)  # clocks differ: look a little before the row


class InOrder:
    """One first-in, first-out lock per incident. The queue's tasks start in
    the order it claimed the messages, and each takes its incident's lock
    before it awaits anything else, so they send in that order."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: Counter[int] = Counter()

    @contextlib.asynccontextmanager
    async def turn(self, number: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(number, asyncio.Lock())
        self._holders[number] += 1
        try:
            async with lock:
                yield
        finally:
            self._holders[number] -= 1
            if not self._holders[number]:
                del self._locks[number], self._holders[number]


def card_metadata(number: int) -> dict[str, Any]:
    """What marks a message as incident ``number``'s card, for apps (Slack's
    message metadata) and for Klaxon looking for a card whose answer was lost."""
    return {"event_type": CARD_EVENT_TYPE, "event_payload": {"incident": number}}


async def _posted_card(
    client: AsyncWebClient, channel: str, number: int, since: datetime
) -> str | None:
    """The ``ts`` of incident ``number``'s card in ``channel``, if one was posted
    since its row was written (``since``), by its metadata."""
    oldest = f"{(since - HISTORY_SLACK).timestamp():.6f}"
    async for page in await client.conversations_history(
        channel=channel, oldest=oldest, include_all_metadata=True, limit=HISTORY_PAGE
    ):
        for message in page.get("messages") or []:
            if message.get("metadata") == card_metadata(number):
                return str(message["ts"])
    return None


def slack_handler(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Handler:
    """The ``slack`` handler of the outbound queue, for this runtime's database."""
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=max(1, math.ceil(settings.slack_timeout)),
    )

    async def card(item: Outbound) -> Delivered:
        number = int(item.payload["incident"])
        async with sessions() as session:
            row, incident, paged = await card_state(session, number)
            commander = (await current_roles(session, number)).commander
        text, blocks = render(incident, paged, commander)
        if row.ts is not None:
            try:
                await client.chat_update(channel=row.channel, ts=row.ts, text=text, blocks=blocks)
            except Exception as exc:
                return failed("chat.update", exc, item.attempts)
            return Delivered(ok=True, summary=f"Slack card updated: {text}", timeline=False)
        if item.payload["op"] == "update":
            return Delivered(
                ok=False,
                summary="card not posted yet",
                retry_after=NOT_YET_POSTED_RETRY,
                timeline=False,
            )
        if item.attempts:  # a try before may have posted it, its answer lost
            try:
                found = await _posted_card(client, row.channel, number, row.created_at)
            except Exception as exc:
                return failed("conversations.history", exc, item.attempts)
            if found is not None:
                await store_card(sessions, number, ts=found)
                try:
                    await client.chat_update(
                        channel=row.channel, ts=found, text=text, blocks=blocks
                    )
                except Exception as exc:
                    return failed("chat.update", exc, item.attempts)
                return Delivered(ok=True, summary=f"Slack card found in {row.channel}")
        try:
            posted = await client.chat_postMessage(
                channel=row.channel, text=text, blocks=blocks, metadata=card_metadata(number)
            )
        except Exception as exc:
            return failed("chat.postMessage", exc, item.attempts)
        await store_card(sessions, number, ts=str(posted["ts"]), channel=str(posted["channel"]))
        return Delivered(ok=True, summary=f"Slack card posted in {posted['channel']}")

    async def respond(item: Outbound) -> Delivered:
        webhook = AsyncWebhookClient(
            str(item.payload["url"]), timeout=max(1, math.ceil(settings.slack_timeout))
        )
        try:
            answer = await webhook.send(
                text=str(item.payload["text"]),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception as exc:
            return failed("response_url", exc, item.attempts)
        if answer.status_code == 200:
            return Delivered(ok=True, summary="Slack answer sent", timeline=False)
        retryable = answer.status_code == 429 or answer.status_code >= 500
        return Delivered(
            ok=False,
            summary=f"Slack response_url: {answer.status_code} {answer.body[:100]}",
            final=not retryable,
            timeline=False,
        )

    async def thread_post(item: Outbound) -> Delivered:
        async with sessions() as session:
            row, _, _ = await card_state(session, int(item.payload["incident"]))
        if row.ts is None:
            return Delivered(
                ok=False,
                summary="card not posted yet",
                retry_after=NOT_YET_POSTED_RETRY,
                timeline=False,
            )
        text = str(item.payload["text"])
        try:
            await client.chat_postMessage(channel=row.channel, thread_ts=row.ts, text=text)
        except Exception as exc:
            return failed("chat.postMessage", exc, item.attempts)
        return Delivered(ok=True, summary="told the card's thread", timeline=False)

    in_order = InOrder()

    async def handle(item: Outbound) -> Delivered:
        op = item.payload.get("op")
        if op == "respond":
            return await respond(item)
        operations: dict[str, Handler] = {
            "post": card,
            "update": card,
            "thread_post": thread_post,
            "open_channel": partial(channels.open_channel, client, sessions),
            "channel_post": partial(channels.channel_post, client, sessions),
            "archive_channel": partial(channels.archive_channel, client, sessions),
        }
        operation = operations.get(str(op))
        if operation is None:
            return Delivered(ok=False, summary=f"unknown Slack operation {op!r}", final=True)
        async with in_order.turn(int(item.payload["incident"])):
            return await operation(item)

    return handle
