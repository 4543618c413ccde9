"""One card per incident in the main Slack channel, kept current from every channel.

Every change of an incident, whoever made it and however (SMS, voice, API,
CLI, Slack, the engine), is written on its timeline by ``app.timeline.record``,
which runs the followers installed on the session (:func:`install`). The card
follower turns the changes that show on a card into one row of the outbound
queue in that same transaction: the first into ``post`` (``chat.postMessage``),
each later one into ``update`` (``chat.update`` of that message). A rolled-back
change queues nothing; a committed one is sent by the engine after commit, so a
slow or failing Slack never holds up the change, nor a page.

What a card says is read when it is sent, not when it was queued: an update
shows the incident as it is by then, and the updates of one card are sent one
at a time in the order queued (app/chat/slack.py), so the last one sent shows
the last change. Nothing here takes a row lock: the follower runs inside every
change, the pages' included, and an ``INSERT … ON CONFLICT DO NOTHING`` on an
existing card locks nothing, so it can neither block nor deadlock a page.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import insert_for
from app.models import chat_cards_table, incidents_table, notifications_table
from app.notify import outbound
from app.settings import Settings
from app.timeline import FOLLOWERS
from app.transaction import writing

KIND = "slack"  # the outbound queue's handler for everything sent to Slack
MATTERMOST = "mattermost"  # … and to Mattermost

#: Timeline events that change what a card shows.
CARD_EVENTS = frozenset(
    {
        "triggered",
        "reopened",
        "severity_changed",
        "triage",
        "notified",
        "escalated",
        "escalation_exhausted",
        "acknowledged",
        "resolved",
        "status_update",
        "responder_added",
        "role",
    }
)
#: Events told in an incident's own channel, as they happen.
CHANNEL_POSTS = frozenset(
    {
        "acknowledged",
        "resolved",
        "status_update",
        "severity_changed",
        "escalated",
        "reopened",
        "responder_added",
        "role",
    }
)
#: The timeline's main events, each a reply in the card's thread.
THREAD_POSTS = CHANNEL_POSTS | {"triggered", "published", "public_update", "escalation_exhausted"}
#: A refresh that could not be sent by then is dropped: a newer one follows
#: the next change, and the card is only a view of the incident.
REFRESH_DEADLINE = timedelta(hours=1)
#: A card that was never posted in that time is given up on (a wrong channel).
POST_DEADLINE = timedelta(hours=6)

_SEVERITY_MARK = {"SEV1": ":red_circle:", "SEV2": ":large_orange_circle:"}


def install(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Make every session of ``sessions`` keep the cards current, in Slack and
    in Mattermost, for those configured (a bot token and a channel)."""
    followers = []
    if settings.slack_cards_enabled:
        followers.append(_slack_follower(settings))
    if settings.mattermost_cards_enabled:
        followers.append(_mattermost_follower(settings))
    if followers:
        sessions.configure(info={FOLLOWERS: followers})


def _mattermost_follower(settings: Settings) -> Any:
    severities = settings.slack_channel_severities
    archive_after = settings.slack_archive_after

    async def follow(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        await _mattermost_follow(session, rows, severities, archive_after)

    return follow


async def _mattermost_follow(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    severities: frozenset[str],
    archive_after: timedelta | None,
) -> None:
    """The Mattermost card: posted once, then edited, its thread, and the
    incident's own channel (app/chat/mattermost.py, mattermost_channels.py)."""
    for number in sorted({r["incident_number"] for r in rows if r["kind"] in CARD_EVENTS}):
        now = rows[0]["at"]
        post, key = {"op": "post"}, f"card:{number}:post"
        await queue(
            session, post, key=key, now=now, keep=POST_DEADLINE, incident=number, kind=MATTERMOST
        )
        key = f"card:{number}:{uuid.uuid4().hex}"
        refresh = {"op": "update"}
        await queue(
            session,
            refresh,
            key=key,
            now=now,
            keep=REFRESH_DEADLINE,
            incident=number,
            kind=MATTERMOST,
        )
        told = [r for r in rows if r["incident_number"] == number]
        await queue_thread(session, number, told, now=now, kind=MATTERMOST)
        if severities:
            await queue_channel(
                session,
                number,
                told,
                severities,
                now=now,
                archive_after=archive_after,
                kind=MATTERMOST,
            )


def _slack_follower(settings: Settings) -> Any:
    channel = str(settings.slack_channel)
    severities = settings.slack_channel_severities
    archive_after = settings.slack_archive_after

    async def follow(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        numbers = sorted({r["incident_number"] for r in rows if r["kind"] in CARD_EVENTS})
        for number in numbers:
            now = rows[0]["at"]
            await queue_refresh(session, number, channel=channel, now=now)
            told = [r for r in rows if r["incident_number"] == number]
            await queue_thread(session, number, told, now=now)
            if severities:
                await queue_channel(
                    session, number, told, severities, now=now, archive_after=archive_after
                )

    return follow


async def queue(
    session: AsyncSession,
    payload: dict[str, Any],
    *,
    key: str,
    now: datetime,
    keep: timedelta,
    incident: int | None = None,
    kind: str = KIND,
    due_at: datetime | None = None,
) -> None:
    """One message to Slack (or ``kind``'s handler), in the caller's
    transaction, sent at ``due_at`` (now if None), given up ``keep`` after now."""
    if incident is not None:
        payload = {**payload, "incident": incident}
    await outbound.enqueue(
        session,
        kind,
        payload,
        key=key,
        now=now,
        incident_number=incident,
        deadline=now + keep,
        due_at=due_at,
    )


async def store_card(
    sessions: async_sessionmaker[AsyncSession], number: int, **values: str
) -> None:
    """Remember what Slack made for incident ``number`` (a handler's own commit)."""
    async with writing(sessions) as session:
        await session.execute(
            update(chat_cards_table)
            .where(chat_cards_table.c.incident_number == number)
            .values(**values)
        )


async def queue_refresh(session: AsyncSession, number: int, *, channel: str, now: datetime) -> None:
    """Queue the post of incident ``number``'s card, or an update of it."""
    c = chat_cards_table.c
    created = await session.execute(
        insert_for(session, chat_cards_table)
        .values(incident_number=number, channel=channel, created_at=now)
        .on_conflict_do_nothing(index_elements=[c.incident_number])
        .returning(c.incident_number)
    )
    if created.first() is not None:
        post = {"op": "post"}
        await queue(
            session, post, key=f"card:{number}:post", now=now, keep=POST_DEADLINE, incident=number
        )
        return
    key = f"card:{number}:{uuid.uuid4().hex}"  # one refresh per change
    await queue(session, {"op": "update"}, key=key, now=now, keep=REFRESH_DEADLINE, incident=number)


async def queue_thread(
    session: AsyncSession,
    number: int,
    rows: list[dict[str, Any]],
    *,
    now: datetime,
    kind: str = KIND,
) -> None:
    """What ``rows`` tell of the timeline's main events, as replies in the
    card's thread (sent once the card is posted), by ``kind``'s handler."""
    await _queue_posts(session, number, rows, THREAD_POSTS, "thread", now=now, kind=kind)


async def _queue_posts(
    session: AsyncSession,
    number: int,
    rows: list[dict[str, Any]],
    kinds: Collection[str],
    where: str,
    *,
    now: datetime,
    kind: str,
) -> None:
    """Each of ``rows`` of one of ``kinds`` as a ``<where>_post`` (the card's
    thread, the incident's channel)."""
    for row in rows:
        if row["kind"] in kinds:
            told = {"op": f"{where}_post", "text": row["message"]}
            key = f"{where}:{number}:{uuid.uuid4().hex}"
            await queue(
                session, told, key=key, now=now, keep=REFRESH_DEADLINE, incident=number, kind=kind
            )


async def queue_channel(
    session: AsyncSession,
    number: int,
    rows: list[dict[str, Any]],
    severities: frozenset[str],
    *,
    now: datetime,
    archive_after: timedelta | None = None,
    kind: str = KIND,
) -> None:
    """For an incident of one of ``severities``: its own channel (queued once),
    what ``rows`` tell, posted there, and its archiving ``archive_after`` a
    resolution (None: never); by ``kind``'s handler."""
    i = incidents_table.c
    severity = (await session.execute(select(i.severity).where(i.number == number))).scalar()
    if severity not in severities:
        return
    opening = {"op": "open_channel"}
    await queue(
        session,
        opening,
        key=f"channel:{number}",
        now=now,
        keep=POST_DEADLINE,
        incident=number,
        kind=kind,
    )
    await _queue_posts(session, number, rows, CHANNEL_POSTS, "channel", now=now, kind=kind)
    for row in rows:
        if row["kind"] == "resolved" and archive_after is not None:
            archive, key = {"op": "archive_channel"}, f"archive:{number}:{uuid.uuid4().hex}"
            keep = archive_after + POST_DEADLINE
            due_at = now + archive_after
            await queue(
                session,
                archive,
                key=key,
                now=now,
                keep=keep,
                incident=number,
                kind=kind,
                due_at=due_at,
            )


async def card_state(session: AsyncSession, number: int) -> tuple[Any, Any, list[str]]:
    """(The card's row, the incident's row, who was paged) as of now."""
    c, i, n = chat_cards_table.c, incidents_table.c, notifications_table.c
    card = (
        await session.execute(select(chat_cards_table).where(c.incident_number == number))
    ).one()
    incident = (await session.execute(select(incidents_table).where(i.number == number))).one()
    paged = await session.execute(
        select(n.responder_name, n.channel)
        .where(n.incident_number == number, n.kind == "page", n.state == "sent")
        .order_by(n.id)
    )
    people: dict[str, list[str]] = {}
    for name, channel in paged:
        if channel not in people.setdefault(name, []):
            people[name].append(channel)
    return card, incident, [f"{name} ({', '.join(ways)})" for name, ways in people.items()]


def status_text(incident: Any) -> str:
    if incident.status == "acknowledged":
        return f"Acknowledged by {incident.acknowledged_by}"
    if incident.status == "resolved":
        return f"Resolved by {incident.resolved_by}" if incident.resolved_by else "Resolved"
    return str(incident.status).capitalize()


def _button(label: str, action: str, number: int, style: str | None = None) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action,
        "value": str(number),
    }
    return button if style is None else {**button, "style": style}


def render(
    incident: Any, paged: list[str], commander: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The card's fallback text (notifications, screen readers) and its blocks."""
    number, severity = incident.number, incident.severity
    status = status_text(incident)
    text = f"{severity} #{number} {incident.title}: {status}"
    mark = _SEVERITY_MARK.get(severity, ":large_yellow_circle:")
    if incident.status == "resolved":
        mark = ":white_check_mark:"
    fields = [
        f"*Severity*\n{severity}",
        f"*Status*\n{status}",
        f"*Service*\n{incident.service}",
        f"*Paged*\n{', '.join(paged) if paged else 'nobody yet'}",
        f"*Commander*\n{commander or 'nobody yet'}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": "klaxon_title",
            "text": {"type": "mrkdwn", "text": f"{mark} *#{number} {incident.title}*"},
        },
        {
            "type": "section",
            "block_id": "klaxon_fields",
            "fields": [{"type": "mrkdwn", "text": f} for f in fields],
        },
    ]
    buttons = []
    if incident.status == "triggered":
        buttons.append(_button("Acknowledge", "klaxon_ack", number, "primary"))
    if incident.status != "resolved":
        buttons.append(_button("Resolve", "klaxon_resolve", number, "danger"))
        buttons.append(_button("Take command", "klaxon_command", number))
    if buttons:
        blocks.append({"type": "actions", "block_id": "klaxon_actions", "elements": buttons})
    return text, blocks
