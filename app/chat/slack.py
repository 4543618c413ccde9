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

The client is ``slack_sdk``'s ``AsyncWebClient``, unmodified, at
``KLAXON_SLACK_API_URL``. Its pitfalls, handled here:

- An ``ok: false`` answer, a non-200 status and a 429 all raise
  ``SlackApiError``; the status and ``error`` say which. 429 (``ratelimited``)
  carries ``Retry-After`` in seconds; 5xx and network errors are worth a retry;
  other errors (``channel_not_found``, ``not_in_channel``, ``invalid_auth``)
  are not, and are final.
- Only connection errors are retried inside the client (its default handlers);
  rate limits come back here, so the queue's backoff, not a sleep in the
  engine's loop, waits them out.
- The bot token is never in a summary or a log line: summaries name the method
  and Slack's error code only.
"""

from __future__ import annotations

import math
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.cards import card_state, render
from app.models import chat_cards_table
from app.notify.outbound import Delivered, Handler, Outbound
from app.settings import Settings

NOT_YET_POSTED_RETRY = 2.0  # seconds before an update looks again for its card's ts
_RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}


def _retry_after(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def _failed(method: str, exc: Exception, attempts: int) -> Delivered:
    """What a failed call means for the queue: retry (when and whether) or give up."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        summary = f"Slack {method}: {status} {error or 'error'}"
        if status == 429 or error == "ratelimited":
            return Delivered(
                ok=False,
                summary=summary,
                retry_after=_retry_after(exc.response.headers),
                timeline=attempts == 0,
            )
        retryable = status >= 500 or error in _RETRYABLE_ERRORS
        return Delivered(
            ok=False, summary=summary, final=not retryable, timeline=attempts == 0 or not retryable
        )
    # A timeout or a refused connection: Slack unreachable, worth a retry.
    summary = f"Slack {method}: {type(exc).__name__}, no answer"
    return Delivered(ok=False, summary=summary, timeline=attempts == 0)


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
                return _failed("chat.update", exc, item.attempts)
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
            return _failed("chat.postMessage", exc, item.attempts)
        async with sessions() as session, session.begin():
            await session.execute(
                update(chat_cards_table)
                .where(chat_cards_table.c.incident_number == number)
                .values(ts=str(posted["ts"]), channel=str(posted["channel"]))
            )
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
            return _failed("response_url", exc, item.attempts)
        if answer.status_code == 200:
            return Delivered(ok=True, summary="Slack answer sent", timeline=False)
        retryable = answer.status_code == 429 or answer.status_code >= 500
        return Delivered(
            ok=False,
            summary=f"Slack response_url: {answer.status_code} {answer.body[:100]}",
            final=not retryable,
            timeline=False,
        )

    async def handle(item: Outbound) -> Delivered:
        op = item.payload.get("op")
        if op in ("post", "update"):
            return await card(item)
        if op == "respond":
            return await respond(item)
        return Delivered(ok=False, summary=f"unknown Slack operation {op!r}", final=True)

    return handle
