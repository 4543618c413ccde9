"""Timeline events: every state change of an incident, with when and who."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import timeline_table
from app.models.types import ACTOR_MAX
from app.text import clip

MESSAGE_MAX = 2000  # timeline_events.message

#: Every change of an incident is written here, so this is the one place where
#: whatever follows incidents (the chat cards, app/chat/cards.py) learns of a
#: change, from any channel, in the transaction that made it. A session's
#: ``info[FOLLOWERS]`` lists the coroutines :func:`record` runs with the rows it
#: wrote; the entry point that makes the sessions installs them (app/main.py),
#: so this floor never imports what follows it.
FOLLOWERS = "klaxon.timeline.followers"
Follower = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]


def event_row(
    incident_number: int,
    kind: str,
    message: str,
    *,
    at: datetime,
    actor: str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "incident_number": incident_number,
        "kind": kind,
        "message": clip(message, MESSAGE_MAX),
        "at": at,
        "actor": clip(actor, ACTOR_MAX),
        "data": data or {},
    }


async def record(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(timeline_table), rows)
        follower: Follower
        for follower in session.info.get(FOLLOWERS, ()):
            await follower(session, rows)


def describe_alerts(kind: str, titles: list[str]) -> str:
    if len(titles) == 1:
        return f"Alert {kind}: {titles[0]}"
    shown = ", ".join(titles[:3])
    more = f" and {len(titles) - 3} more" if len(titles) > 3 else ""
    return f"{len(titles)} alerts {kind}: {shown}{more}"
