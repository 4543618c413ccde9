"""Who a chat user is in Klaxon: the responder whose ``slack_user_id`` (or
``mattermost_user_id``) they are.

Nobody else acts: a Slack workspace holds people who are not on call, and a
signature only proves the request came through Slack, not that its sender may
change an incident. The mapping comes from the on-call document
(``responders[].slack_user_id``), which only a ``config`` token changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import responders_table


async def responder_for(session: AsyncSession, slack_user_id: str) -> Any | None:
    """The responder row mapped to this Slack user, or None."""
    if not slack_user_id:
        return None
    r = responders_table.c
    query = select(responders_table).where(r.slack_user_id == slack_user_id)
    return (await session.execute(query)).first()


def refusal(slack_user_id: str) -> str:
    return (
        f"Sorry, your Slack user (<@{slack_user_id}>) is not mapped to a Klaxon responder,"
        " so Klaxon can't act for you and nothing was changed. Ask whoever keeps the on-call"
        f" file to add `slack_user_id: {slack_user_id}` to your responder entry."
    )


async def mattermost_responder(session: AsyncSession, user_id: str) -> Any | None:
    """The responder row mapped to this Mattermost user, or None."""
    if not user_id:
        return None
    r = responders_table.c
    query = select(responders_table).where(r.mattermost_user_id == user_id)
    return (await session.execute(query)).first()


def mattermost_refusal(user_id: str) -> str:
    return (
        "Sorry, your Mattermost user is not mapped to a Klaxon responder, so Klaxon can't"
        " act for you and nothing was changed. Ask whoever keeps the on-call file to add"
        f" `mattermost_user_id: {user_id}` to your responder entry."
    )
