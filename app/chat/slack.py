"""Sending to Slack: the outbound queue's ``slack`` handler.

Every message to Slack was queued in the transaction that decided it
(app/chat/cards.py, app/chat/endpoints.py); the engine hands each to
:func:`slack_handler`'s handler after commit, which makes one call and says how
it went (``Delivered``); the queue retries, never twice for one key.

Operations (``payload["op"]``):

``post``     the incident's card: ``chat.postMessage`` in the main channel; the
             message's ``ts`` is stored so that every later change edits it.
``update``   ``chat.update`` of the card, as the incident is now; skipped when a
             newer refresh is queued (``version``), retried while not yet posted.
``respond``  a message to a ``response_url`` Slack gave with a command or click
             (an ephemeral answer to a button press).
``open_channel``, ``channel_post``
             an incident's own channel and what is told there (app/chat/channels.py).

The client is ``slack_sdk``'s ``AsyncWebClient``, unmodified, at
``KLAXON_SLACK_API_URL``. Its pitfalls, handled here:

- An ``ok: false`` answer, a non-200 status and a 429 all raise
  ``SlackApiError``; app/chat/outcomes.py tells them apart.
- Only connection errors are retried inside the client (its default handlers);
  rate limits come back here, so the queue's backoff, not a sleep in the
  engine's loop, waits them out.
- Posts in an incident channel go one at a time, in the order the queue hands
  them over (one replica's order; replicas do not order among themselves).
- The bot token is never in a summary or a log line: summaries name the method
  and Slack's error code only.
"""

from __future__ import annotations

import asyncio
import math

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat import channels
from app.chat.cards import card_state, render, store_card
from app.chat.outcomes import failed
from app.notify.outbound import Delivered, Handler, Outbound
from app.settings import Settings

NOT_YET_POSTED_RETRY = 2.0  # seconds before an update looks again for its card's ts


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
        if item.payload["op"] == "update" and int(item.payload["version"]) < row.version:
            return Delivered(
                ok=True, summary="card refresh overtaken by a newer one", timeline=False
            )
        text, blocks = render(incident, paged)
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
        try:
            posted = await client.chat_postMessage(channel=row.channel, text=text, blocks=blocks)
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

    channel_order = asyncio.Lock()

    async def handle(item: Outbound) -> Delivered:
        op = item.payload.get("op")
        if op in ("post", "update"):
            return await card(item)
        if op == "respond":
            return await respond(item)
        if op in ("open_channel", "channel_post"):
            # The queue sends what is due at once, one task each, in the order
            # queued; taking this (first-in, first-out) lock before anything
            # else keeps an incident channel's posts in that order here.
            async with channel_order:
                if op == "open_channel":
                    return await channels.open_channel(client, sessions, item)
                return await channels.channel_post(client, sessions, item)
        return Delivered(ok=False, summary=f"unknown Slack operation {op!r}", final=True)

    return handle
