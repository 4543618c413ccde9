"""The outbox: every SMS and call Klaxon sends is first a row of the
``notifications`` table, written in the transaction of the change that caused
it (a step fired, an incident resolved, a status update, a handoff, a
responder added) and sent by the dispatcher after the commit. This module is
the one place that writes those rows and builds the URLs Twilio calls back.

A row is ``pending`` (due at ``due_at``), then ``sending`` while a dispatcher
holds its claim, then ``sent``, ``failed``, ``cancelled`` or ``bundled``; the
dispatcher (app/notify/dispatch.py) owns every change after ``pending``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import notifications_table


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One notification to queue: who, by what, saying what."""

    kind: str
    channel: str
    to_number: str
    responder_name: str
    responder_id: int | None = None
    incident_number: int | None = None
    step_id: int | None = None
    # None for a page call: its words are read from the incident when it rings.
    body: str | None = None


class Person(Protocol):
    """A responder as a row or a model gives it."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str: ...


def to(
    person: Person,
    kind: str,
    channel: str,
    body: str | None,
    *,
    incident_number: int | None = None,
    step_id: int | None = None,
) -> Outgoing:
    """A notification to a responder. A page call carries no body (its words
    are read from the incident when it rings), whatever ``body`` says."""
    return Outgoing(
        kind=kind,
        channel=channel,
        to_number=person.phone,
        responder_name=person.name,
        responder_id=person.id,
        incident_number=incident_number,
        step_id=step_id,
        body=None if channel == "voice" else body,
    )


def _row(item: Outgoing, now: datetime) -> dict[str, Any]:
    return {
        "incident_number": item.incident_number,
        "step_id": item.step_id,
        "responder_id": item.responder_id,
        "responder_name": item.responder_name,
        "kind": item.kind,
        "channel": item.channel,
        "to_number": item.to_number,
        "body": item.body,
        "state": "pending",
        "due_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    session: AsyncSession, items: Iterable[Outgoing], now: datetime, *, once_per_step: bool = False
) -> int:
    """Queue ``items``, due ``now``, in the caller's transaction; returns how
    many were given. With ``once_per_step``, a step's page to a responder by a
    channel that is already queued is skipped (the unique constraint on step,
    responder and channel: a step fired twice pages once)."""
    rows = [_row(item, now) for item in items]
    if not rows:
        return 0
    statement = insert_for(session, notifications_table).values(rows)
    if once_per_step:
        statement = statement.on_conflict_do_nothing(
            index_elements=["step_id", "responder_id", "channel"]
        )
    await session.execute(statement)
    return len(rows)


def callback_url(base: str, kind: Literal["status", "voice"], notification_id: int) -> str:
    """Where Twilio reports on notification ``notification_id``: its delivery
    status, or (``voice``) the TwiML of its call. ``base`` is the public URL."""
    return f"{base}/api/v1/twilio/{kind}/{notification_id}"


#: What a sign-in code's text becomes once it cannot be needed again.
CODE_FORGOTTEN = "(a console sign-in code, no longer kept)"


async def forget_codes(session: AsyncSession, *, to_number: str | None, before: datetime) -> None:
    """Blank the text of console sign-in codes (kind ``code``) that were handled
    (sent, failed, cancelled) and created before ``before`` (to ``to_number``, or
    to any number): a code is kept only hashed (app/console/signin.py), so its
    SMS text must not outlive its use in this table either."""
    n = notifications_table.c
    statement = update(notifications_table).where(
        n.kind == "code",
        n.state.notin_(("pending", "sending")),
        n.created_at <= before,
        n.body != CODE_FORGOTTEN,
    )
    if to_number is not None:
        statement = statement.where(n.to_number == to_number)
    await session.execute(statement.values(body=CODE_FORGOTTEN))
