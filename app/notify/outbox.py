"""The outbox: every SMS and call Klaxon sends is first a row of the
``notifications`` table, written in the transaction of the change that caused
it (a step fired, an incident resolved, a status update, a handoff, a
responder added) and sent by the dispatcher after the commit. This module is
the one place that writes those rows, moves them from state to state, and
builds the URLs Twilio calls back.

The states, and who asks for each move (every move is a function here)::

    pending ──claim──► sending ──mark_sent──► sent (the rest of a bundle: sent,
       ▲                  │                         bundled_into the first)
       │                  ├──mark_failed──► pending again (a retry, due later:
       │                  │                 app/notify/retry.py decides) or failed
       └──hand_back/hold_back──┘ (unsent: claim ran short, or throttled)
    pending/sending ──cancel──► cancelled (no longer true; paging stopped)

The dispatcher (app/notify/dispatch.py) claims, sends and settles; paging
(app/escalation/paging.py) cancels a stopped incident's pages. Twilio's
delivery reports (app/notify/delivery.py) write ``delivery``, not the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, and_, case, select, update
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


# --- the state machine: claimed, sent, failed, handed back, cancelled --------


@dataclass
class Claimed:
    """A notification this replica holds (``sending``) until ``lease_until``."""

    id: int
    incident_number: int | None  # None for a shift handoff
    responder_name: str
    kind: str
    channel: str
    to_number: str
    body: str | None
    attempts: int
    step_id: int | None  # None for a page a person asked for (and for notices)
    lease_until: datetime


_CLAIMED_COLUMNS = tuple(
    notifications_table.c[name]
    for name in (
        "id",
        "incident_number",
        "responder_name",
        "kind",
        "channel",
        "to_number",
        "body",
        "attempts",
        "step_id",
        "lease_until",
    )
)
_N = notifications_table.c
#: What every settled row gives up: the claim.
_UNCLAIMED: dict[str, Any] = {"lease_owner": None, "lease_until": None}


def due_or_abandoned(now: datetime) -> ColumnElement[bool]:
    """Rows to claim: due and pending, or sending under a lease that ran out
    (its replica died mid-send)."""
    return and_(_N.state == "pending", _N.due_at <= now) | and_(
        _N.state == "sending", _N.lease_until < now
    )


async def claim(
    session: AsyncSession,
    where: ColumnElement[bool],
    *,
    owner: str,
    lease: datetime,
    now: datetime,
    limit: int | None = None,
) -> list[Claimed]:
    """Claim the rows ``where`` says (at most ``limit``, pages first) that no other
    replica holds, under ``owner``'s lease; returns them by id."""
    statement = select(_N.id).where(where).with_for_update(skip_locked=True)
    if limit is not None:
        # Pages first: a backlog of notices (a status page's subscribers,
        # thousands at once) never delays a page.
        statement = statement.order_by(
            case((_N.kind == "page", 0), else_=1), _N.due_at, _N.id
        ).limit(limit)
    ids = (await session.execute(statement)).scalars().all()
    if not ids:
        return []
    return await _take(session, ids, owner=owner, lease=lease, now=now)


async def _take(
    session: AsyncSession, ids: Sequence[int], *, owner: str, lease: datetime, now: datetime
) -> list[Claimed]:
    rows = await session.execute(
        update(notifications_table)
        .where(_N.id.in_(ids))
        .values(state="sending", lease_owner=owner, lease_until=lease, updated_at=now)
        .returning(*_CLAIMED_COLUMNS)
    )
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


async def hand_back(
    session: AsyncSession, items: Sequence[Claimed], *, owner: str, now: datetime
) -> None:
    """Give unsent items back, due at once, to be claimed afresh: only while
    each claim is still ``owner``'s (the same lease)."""
    for item in items:
        await session.execute(
            update(notifications_table)
            .where(
                _N.id == item.id,
                _N.state == "sending",
                _N.lease_owner == owner,
                _N.lease_until == item.lease_until,
            )
            .values(state="pending", due_at=now, **_UNCLAIMED, updated_at=now)
        )


async def hold_back(
    session: AsyncSession, ids: Sequence[int], *, owner: str, due: datetime, now: datetime
) -> None:
    """Put claimed rows back to wait until ``due`` (the per-number throttle)."""
    await session.execute(
        update(notifications_table)
        .where(_N.id.in_(ids), _N.lease_owner == owner)
        .values(state="pending", due_at=due, **_UNCLAIMED, updated_at=now)
    )


async def cancel(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    """Cancel claimed rows that are no longer true (resolved, replaced)."""
    await session.execute(
        update(notifications_table)
        .where(_N.id.in_(ids))
        .values(state="cancelled", **_UNCLAIMED, updated_at=now)
    )


async def cancel_pages(session: AsyncSession, number: int, now: datetime) -> int:
    """Cancel incident ``number``'s pages not yet claimed; returns how many."""
    pages = await session.execute(
        update(notifications_table)
        .where(and_(_N.incident_number == number, _N.kind == "page", _N.state == "pending"))
        .values(state="cancelled", updated_at=now)
        .returning(_N.id)
    )
    return len(pages.all())


async def mark_sent(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    sid: str | None,
    delivery: str | None,
    now: datetime,
) -> None:
    """One message went out for ``ids``: the first carries it (Twilio's sid),
    the rest rode along (``bundled_into`` the first)."""
    values: dict[str, Any] = {
        "state": "sent",
        "sent_at": now,
        "twilio_sid": sid,
        "delivery": delivery,
        "error_code": None,
        "error_message": None,
    }
    first, *rest = ids
    done = [([first], values)] + ([(rest, values | {"bundled_into": first})] if rest else [])
    for these, settled in done:
        await session.execute(
            update(notifications_table)
            .where(_N.id.in_(these))
            .values(**settled, **_UNCLAIMED, updated_at=now)
        )


async def mark_failed(
    session: AsyncSession,
    notification_id: int,
    *,
    retry_at: datetime | None,
    error_code: int | None,
    error_message: str | None,
    now: datetime,
) -> None:
    """A send failed: due again at ``retry_at``, or failed for good (None)."""
    values: dict[str, Any] = {
        "attempts": _N.attempts + 1,
        "error_code": error_code,
        "error_message": error_message,
    }
    values |= {"state": "pending", "due_at": retry_at} if retry_at else {"state": "failed"}
    await session.execute(
        update(notifications_table)
        .where(_N.id.in_([notification_id]))
        .values(**values, **_UNCLAIMED, updated_at=now)
    )
