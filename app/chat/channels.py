"""An incident's own channel, for the severities ``KLAXON_SLACK_INCIDENT_CHANNEL_SEVERITIES``
names (SEV1 and SEV2 by default): the outbound queue's ``open_channel`` and
``channel_post`` operations.

``open_channel`` is queued once per incident (app/chat/cards.py): it creates
``inc-<n>-<slug of the title>`` (``conversations.create``; a name in use,
``name_taken``, gets ``-2``, ``-3``, … as Slack's own UI does), stores its id,
invites the responders paged for the incident who have a Slack id
(``conversations.invite``) and sets the topic to severity and status.
``channel_post`` tells the channel one timeline event (an acknowledgement, a
status update, a resolution), invites whoever was paged since, and refreshes
the topic; it waits (the queue's backoff) until the channel exists.

A channel is created before the ``ts`` of its id is stored: if storing it
fails, the retry finds the name taken and makes a second channel. That window
is one short UPDATE wide, and a spare empty channel is the worst it does.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.cards import card_state, status_text, store_card
from app.chat.outcomes import failed
from app.models import notifications_table, responders_table
from app.notify.outbound import Delivered, Outbound

NAME_MAX = 80  # Slack's limit for a channel name
NAME_TRIES = 5  # inc-7-db-down, inc-7-db-down-2, … -5, then give up
TOPIC_MAX = 250
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def channel_name(number: int, title: str, attempt: int = 1) -> str:
    """``inc-<n>-<slug>``: lower case, letters, digits and dashes, at most 80."""
    suffix = f"-{attempt}" if attempt > 1 else ""
    head = f"inc-{number}-"
    slug = _NOT_SLUG.sub("-", title.lower()).strip("-")[: NAME_MAX - len(head) - len(suffix)]
    return (head + slug.strip("-")).strip("-") + suffix


def topic(incident: Any) -> str:
    text = f"{incident.severity} · {status_text(incident)} · #{incident.number} {incident.title}"
    return text[:TOPIC_MAX]


async def _paged_slack_ids(session: AsyncSession, number: int) -> list[str]:
    n, r = notifications_table.c, responders_table.c
    rows = await session.execute(
        select(r.slack_user_id)
        .join(notifications_table, n.responder_id == r.id)
        .where(n.incident_number == number, n.kind == "page", r.slack_user_id.is_not(None))
        .distinct()
    )
    return sorted(str(v) for v in rows.scalars())


async def _invite_and_title(
    client: AsyncWebClient, channel: str, people: list[str], incident: Any
) -> None:
    """Invite ``people`` (those already in are skipped by Slack with ``force``)
    and set the topic; failures here are not worth a retry of the whole."""
    if people:
        try:
            await client.conversations_invite(channel=channel, users=people, force=True)
        except SlackApiError as exc:
            if exc.response.status_code != 200:
                raise  # a 429 or 5xx: let the queue retry
    await client.conversations_setTopic(channel=channel, topic=topic(incident))


async def _create(client: AsyncWebClient, number: int, title: str) -> tuple[str, str]:
    for attempt in range(1, NAME_TRIES + 1):
        name = channel_name(number, title, attempt)
        try:
            created = await client.conversations_create(name=name)
        except SlackApiError as exc:
            if exc.response.get("error") == "name_taken" and attempt < NAME_TRIES:
                continue
            raise
        return str(created["channel"]["id"]), name
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _state(
    sessions: async_sessionmaker[AsyncSession], number: int
) -> tuple[Any, Any, list[str]]:
    """(The card's row, the incident's, the Slack ids of those paged for it.)"""
    async with sessions() as session:
        card, incident, _ = await card_state(session, number)
        return card, incident, await _paged_slack_ids(session, number)


async def open_channel(
    client: AsyncWebClient, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    number = int(item.payload["incident"])
    card, incident, people = await _state(sessions, number)
    if card.incident_channel is not None:
        return Delivered(ok=True, summary="incident channel already made", timeline=False)
    try:
        channel, name = await _create(client, number, str(incident.title))
    except Exception as exc:
        return failed("conversations.create", exc, item.attempts)
    await store_card(sessions, number, incident_channel=channel)
    try:
        await _invite_and_title(client, channel, people, incident)
    except Exception as exc:
        summary = failed("conversations.invite", exc, 0).summary
        return Delivered(ok=True, summary=f"Slack channel #{name} created; {summary}")
    return Delivered(ok=True, summary=f"Slack channel #{name} created")


async def channel_post(
    client: AsyncWebClient, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    number = int(item.payload["incident"])
    card, incident, people = await _state(sessions, number)
    if card.incident_channel is None:
        return Delivered(ok=False, summary="incident channel not made yet", timeline=False)
    try:
        await client.chat_postMessage(channel=card.incident_channel, text=item.payload["text"])
    except Exception as exc:
        return failed("chat.postMessage", exc, item.attempts)
    try:  # told: a failure from here on must not tell it twice
        await _invite_and_title(client, card.incident_channel, people, incident)
    except Exception as exc:
        summary = failed("conversations.setTopic", exc, 0).summary
        return Delivered(ok=True, summary=f"told the incident channel; {summary}")
    return Delivered(ok=True, summary="told the incident channel", timeline=False)
