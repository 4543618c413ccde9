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

Slack's answer to ``conversations.create`` can be lost (a timeout, a 5xx after
the channel was made). So the name is stored before each create
(``incident_channel_name``); a retry that finds its stored name taken looks
the channel up by that name (``conversations.list``) and adopts it rather than
making ``-2``. Someone else taking that very name between the lost answer and
the retry would have the incident adopt their channel; the name holds the
incident's number, so that is a near-impossible race.

``archive_channel`` is queued on resolution, due ``KLAXON_SLACK_ARCHIVE_AFTER_MINUTES``
later (``conversations.archive``); an incident reopened by then keeps its channel.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.cards import card_state, status_text, store_card
from app.chat.outcomes import (
    channel_created,
    channel_made_already,
    channel_not_made,
    failed,
    not_archived,
    told_channel,
)
from app.models import notifications_table, responders_table
from app.notify.outbound import Delivered, Outbound

NAME_MAX = 80  # Slack's limit for a channel name
NAME_TRIES = 5  # inc-7-db-down, inc-7-db-down-2, … -5, then give up
TOPIC_MAX = 250
LIST_PAGE = 200  # channels per conversations.list page
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


async def _named(client: AsyncWebClient, name: str) -> str | None:
    """The id of the channel called ``name`` (archived ones are not reused)."""
    async for page in await client.conversations_list(
        exclude_archived=True, types="public_channel", limit=LIST_PAGE
    ):
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return str(channel["id"])
    return None


async def _create(
    client: AsyncWebClient,
    sessions: async_sessionmaker[AsyncSession],
    number: int,
    title: str,
    asked: str | None,
) -> tuple[str, str]:
    """(Id, name) of the incident's new channel; ``asked``: the name a try
    before this one sent ``conversations.create`` for, its answer unknown."""
    for attempt in range(1, NAME_TRIES + 1):
        name = channel_name(number, title, attempt)
        if name != asked:
            await store_card(sessions, number, incident_channel_name=name)
        try:
            created = await client.conversations_create(name=name)
        except SlackApiError as exc:
            if exc.response.get("error") != "name_taken":
                raise
            if name == asked and (found := await _named(client, name)) is not None:
                return found, name  # made by the try whose answer was lost
            if attempt < NAME_TRIES:
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
        return channel_made_already()
    try:
        asked = card.incident_channel_name
        channel, name = await _create(client, sessions, number, str(incident.title), asked)
    except Exception as exc:
        return failed("conversations.create", exc, item.attempts)
    await store_card(sessions, number, incident_channel=channel, incident_channel_name=name)
    try:
        await _invite_and_title(client, channel, people, incident)
    except Exception as exc:
        return channel_created(
            f"Slack channel #{name}", failed("conversations.invite", exc, 0).summary
        )
    return channel_created(f"Slack channel #{name}")


async def channel_post(
    client: AsyncWebClient, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    number = int(item.payload["incident"])
    card, incident, people = await _state(sessions, number)
    if card.incident_channel is None:
        return channel_not_made()
    try:
        await client.chat_postMessage(channel=card.incident_channel, text=item.payload["text"])
    except Exception as exc:
        return failed("chat.postMessage", exc, item.attempts)
    try:  # told: a failure from here on must not tell it twice
        await _invite_and_title(client, card.incident_channel, people, incident)
    except Exception as exc:
        return told_channel(failed("conversations.setTopic", exc, 0).summary)
    return told_channel()


async def archive_channel(
    client: AsyncWebClient, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    """Archive the channel of a resolved incident (one reopened since keeps it)."""
    number = int(item.payload["incident"])
    card, incident, _ = await _state(sessions, number)
    refused = not_archived(card.incident_channel, incident.status)
    if refused is not None:
        return refused
    try:
        await client.conversations_archive(channel=card.incident_channel)
    except SlackApiError as exc:
        if exc.response.get("error") != "already_archived":
            return failed("conversations.archive", exc, item.attempts)
    except Exception as exc:
        return failed("conversations.archive", exc, item.attempts)
    return Delivered(ok=True, summary=f"Slack channel #{card.incident_channel_name} archived")
