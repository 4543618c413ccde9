"""An incident's own Mattermost channel, for the severities
``KLAXON_SLACK_INCIDENT_CHANNEL_SEVERITIES`` names (the same setting as
Slack's): the ``mattermost`` handler's ``open_channel``, ``channel_post`` and
``archive_channel`` operations, queued as Slack's are (app/chat/cards.py).

``open_channel`` creates ``inc-<n>-<slug>`` in the main channel's team (``GET
/api/v4/channels/{main}`` for its ``team_id``, then ``POST /api/v4/channels``,
public); a name in use (``store.sql_channel.save_channel.exists.app_error``)
gets ``-2``, ``-3``, …, and as for Slack the name is stored before each create,
so a retry after a lost answer finds its channel by that name (``GET
/api/v4/teams/{team}/channels/name/{name}``) and adopts it. It adds the
responders paged for the incident and the role holders, by their
``mattermost_user_id`` (``POST /api/v4/channels/{id}/members``, one each;
adding a member twice is harmless), and sets the header to severity, status
and commander (``PUT /api/v4/channels/{id}/patch``). ``channel_post`` posts one
timeline event there, adds whoever was paged or given a role since and
refreshes the header. ``archive_channel`` archives it (``DELETE
/api/v4/channels/{id}``, a soft delete) after ``KLAXON_SLACK_ARCHIVE_AFTER_MINUTES``;
an incident reopened by then keeps its channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.chat.cards import card_state, status_text, store_card
from app.chat.channels import NAME_TRIES, channel_name
from app.chat.mattermost_outcomes import failed
from app.chat.mattermost_outcomes import failed_call as _failed
from app.chat.outcomes import (
    channel_created,
    channel_made_already,
    channel_not_made,
    not_archived,
    told_channel,
)
from app.models import notifications_table, responders_table
from app.notify.outbound import Delivered, Outbound
from app.response.roles import current_roles

EXISTS = "store.sql_channel.save_channel.exists.app_error"
HEADER_MAX = 1024  # Mattermost's limit for a channel header

Connect = Callable[[], httpx.AsyncClient]


def header(incident: Any, commander: str | None) -> str:
    text = f"{incident.severity} · {status_text(incident)} · #{incident.number} {incident.title}"
    return (text + (f" · IC: {commander}" if commander else ""))[:HEADER_MAX]


async def _state(
    sessions: async_sessionmaker[AsyncSession], number: int
) -> tuple[Any, Any, str | None, list[str]]:
    """(The card's row, the incident's, its commander, the Mattermost ids of
    those paged for it and of its role holders.)"""
    n, r = notifications_table.c, responders_table.c
    async with sessions() as session:
        card, incident, _ = await card_state(session, number)
        roles = await current_roles(session, number)
        held = {roles.commander, roles.comms, roles.scribe, *roles.sme} - {None}
        paged = select(n.responder_id).where(n.incident_number == number, n.kind == "page")
        rows = await session.execute(
            select(r.mattermost_user_id).where(
                r.mattermost_user_id.is_not(None), r.id.in_(paged) | r.name.in_(held)
            )
        )
        people = sorted(str(v) for v in rows.scalars())
    return card, incident, roles.commander, people


async def _ok(answer: httpx.Response) -> dict[str, Any]:
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


async def _members_and_header(
    client: httpx.AsyncClient, channel: str, people: list[str], incident: Any, commander: str | None
) -> None:
    for user in people:
        await _ok(await client.post(f"/api/v4/channels/{channel}/members", json={"user_id": user}))
    patch = {"header": header(incident, commander)}
    await _ok(await client.put(f"/api/v4/channels/{channel}/patch", json=patch))


async def _create(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    main: str,
    incident: Any,
    asked: str | None,
) -> tuple[str, str]:
    """(Id, name) of the incident's new channel; ``asked``: the name a try
    before this one asked for, its answer unknown."""
    number = int(incident.number)
    team = (await _ok(await client.get(f"/api/v4/channels/{main}")))["team_id"]
    for attempt in range(1, NAME_TRIES + 1):
        name = channel_name(number, str(incident.title), attempt)
        if name != asked:
            await store_card(sessions, number, mattermost_channel_name=name)
        body = {
            "team_id": team,
            "name": name,
            "display_name": name,
            "type": "O",
            "purpose": f"Incident #{number}: {incident.title}"[:250],
        }
        answer = await client.post("/api/v4/channels", json=body)
        taken = answer.status_code == 400 and EXISTS in answer.text
        if not taken:
            return str((await _ok(answer))["id"]), name
        if name == asked:
            found = await client.get(f"/api/v4/teams/{team}/channels/name/{name}")
            if found.status_code == 200 and not found.json().get("delete_at"):
                return str(found.json()["id"]), name  # made by the try whose answer was lost
        if attempt == NAME_TRIES:
            await _ok(answer)
    raise AssertionError("unreachable: the last attempt returns or raises")


async def open_channel(
    connect: Connect, sessions: async_sessionmaker[AsyncSession], main: str, item: Outbound
) -> Delivered:
    number = int(item.payload["incident"])
    card, incident, commander, people = await _state(sessions, number)
    if card.mattermost_channel is not None:
        return channel_made_already()
    async with connect() as client:
        try:
            asked = card.mattermost_channel_name
            channel, name = await _create(client, sessions, main, incident, asked)
        except httpx.HTTPError as exc:
            return _failed("channels", exc, item.attempts)
        await store_card(sessions, number, mattermost_channel=channel, mattermost_channel_name=name)
        try:
            await _members_and_header(client, channel, people, incident, commander)
        except httpx.HTTPError as exc:
            trouble = _failed("channels/members", exc, 0).summary
            return channel_created(f"Mattermost channel ~{name}", trouble)
    return channel_created(f"Mattermost channel ~{name}")


async def channel_post(
    connect: Connect, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    number = int(item.payload["incident"])
    card, incident, commander, people = await _state(sessions, number)
    channel = card.mattermost_channel
    if channel is None:
        return channel_not_made()
    async with connect() as client:
        try:
            post = {"channel_id": channel, "message": str(item.payload["text"])}
            await _ok(await client.post("/api/v4/posts", json=post))
        except httpx.HTTPError as exc:
            return _failed("posts", exc, item.attempts)
        try:  # told: a failure from here on must not tell it twice
            await _members_and_header(client, channel, people, incident, commander)
        except httpx.HTTPError as exc:
            return told_channel(_failed("channels/patch", exc, 0).summary)
    return told_channel()


async def archive_channel(
    connect: Connect, sessions: async_sessionmaker[AsyncSession], item: Outbound
) -> Delivered:
    """Archive the channel of a resolved incident (one reopened since keeps it)."""
    number = int(item.payload["incident"])
    card, incident, _, _ = await _state(sessions, number)
    refused = not_archived(card.mattermost_channel, incident.status)
    if refused is not None:
        return refused
    async with connect() as client:
        try:
            answer = await client.delete(f"/api/v4/channels/{card.mattermost_channel}")
        except httpx.HTTPError as exc:
            return _failed("channels", exc, item.attempts)
    gone = answer.status_code == 400 and "deleted" in answer.text  # a retry: already archived
    if answer.status_code != 200 and not gone:
        return failed("channels", None, answer, item.attempts)
    name = card.mattermost_channel_name
    return Delivered(ok=True, summary=f"Mattermost channel ~{name} archived")
