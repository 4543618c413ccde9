"""What a reply from a phone does: acknowledge, resolve, take command or
silence, and what to answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation import approval
from app.durations import compact
from app.errors import Conflict, NotFound
from app.incidents import lifecycle
from app.maintenance import ack_silences, requested
from app.maintenance.windows import describe_until
from app.metrics import SMS_REPLIES_SUPPRESSED
from app.models import incidents_table, notifications_table
from app.notify.twiml import RUN_KEY
from app.oncall.store import get_responder_by_id, get_responder_by_phone
from app.phones import mask_phone
from app.replies import limits
from app.replies.grammar import HELP_TEXT, parse_reply
from app.replies.standing import refusal, standing
from app.response import roles
from app.rules import RulesFile
from app.settings import Settings

log = logging.getLogger(__name__)


async def _latest_page(session: AsyncSession, phone: str) -> Any:
    n = notifications_table.c
    return (
        await session.execute(
            select(n.incident_number, n.twilio_sid, n.id, n.bundled_into, n.sent_at)
            .where(
                and_(n.to_number == phone, n.kind == "page", n.channel == "sms", n.state == "sent")
            )
            # Of one message, the page it leads with (the most severe).
            .order_by(n.sent_at.desc(), n.bundled_into.is_not(None), n.id.desc())
            .limit(1)
        )
    ).first()


async def bundle_numbers(session: AsyncSession, notification_id: int) -> list[int]:
    """The incidents paged in one message (an SMS or a call, with what was bundled
    into it), the one it leads with first; notices that rode along are not paged."""
    n = notifications_table.c
    rows = await session.execute(
        select(n.incident_number)
        .where(
            (n.id == notification_id) | (n.bundled_into == notification_id),
            n.kind == "page",
        )
        .order_by((n.id != notification_id), n.id)
    )
    return [int(number) for number in dict.fromkeys(rows.scalars()) if number is not None]


def _too_old(latest: Any, numbers: list[int], *, now: datetime, window: timedelta) -> str | None:
    """Why a bare reply does not act on ``latest``: it was sent longer than
    ``window`` ago. A bare reply stands for "the page I just got"; an old one,
    delayed or replayed, must not act on whatever page is latest by then."""
    if latest.sent_at is not None and now - latest.sent_at <= window:
        return None
    minutes = f"{window.total_seconds() / 60:g}"
    codes = ", ".join(f"{n}A" for n in numbers)
    return (
        f"Your latest page is over {minutes} minutes old, so A or R alone does nothing:"
        f" reply {codes} to acknowledge, or with R to resolve"
    )


async def _may_act(session: AsyncSession, number: int, by: Any) -> tuple[str | None, bool]:
    """(What to answer instead of acting, or None; whether ``by`` was paged for it.)"""
    i = incidents_table.c
    if (await session.execute(select(i.number).where(i.number == number))).first() is None:
        return f"No incident #{number}", False
    allowed = await standing(session, number, by.id)
    if allowed.refused_by is not None:
        return refusal(number, allowed.refused_by), False
    return None, allowed.paged


async def _change(
    change: Callable[..., Awaitable[bool]],
    session: AsyncSession,
    number: int,
    by: Any,
    via: Any,
    now: datetime,
) -> bool | str:
    """``change`` (acknowledge or resolve) when ``by`` may act on ``number``:
    whether it changed anything, or what to answer instead."""
    refused, paged = await _may_act(session, number, by)
    if refused is not None:
        return refused
    try:
        return await change(session, number, by=by.name, via=via, now=now, paged=paged)
    except NotFound:
        return f"No incident #{number}"
    except Conflict:
        return f"#{number} is already resolved"


async def _ack(session: AsyncSession, number: int, by: Any, via: Any, now: datetime) -> str:
    changed = await _change(lifecycle.acknowledge, session, number, by, via, now)
    if isinstance(changed, str):
        return changed
    if changed:
        return f"#{number} acknowledged"
    who = (
        await session.execute(
            select(incidents_table.c.acknowledged_by).where(incidents_table.c.number == number)
        )
    ).scalar()
    return f"#{number} was already acknowledged by {who}"


async def _resolve(session: AsyncSession, number: int, by: Any, via: Any, now: datetime) -> str:
    changed = await _change(lifecycle.resolve, session, number, by, via, now)
    if isinstance(changed, str):
        return changed
    return f"#{number} resolved" if changed else f"#{number} is already resolved"


async def _command(session: AsyncSession, number: int, by: Any, via: Any, now: datetime) -> str:
    """Take command: whoever may acknowledge may, and an incident still paging
    is acknowledged first. A resolved one is past commanding from a phone."""
    acknowledged = await _change(lifecycle.acknowledge, session, number, by, via, now)
    if isinstance(acknowledged, str):
        return acknowledged
    before = (await roles.current_roles(session, number)).commander
    head = f"#{number} acknowledged;" if acknowledged else f"#{number}:"
    if before == by.name:
        # Acknowledging just now made them commander, or they already were.
        return f"{head} you have command" if acknowledged else f"{head} you already have command"
    await roles.assign(session, number, "commander", by.name, by=by.name, now=now)
    return f"{head} you have command" + (f", handed from {before}" if before else "")


async def _silence(
    session: AsyncSession,
    number: int,
    seconds: int,
    by: Any,
    now: datetime,
    settings: Settings | None,
) -> str:
    """``42S2h``: whoever may acknowledge may silence the incident's alerts in
    Alertmanager (app/maintenance/requested.py); one still paging is
    acknowledged too. Nothing changes when there is nothing to silence."""
    if not requested.MIN_SECONDS <= seconds <= requested.MAX_SECONDS:
        return f"#{number} unchanged: a silence lasts from 1m to {compact(requested.MAX_SECONDS)}"
    if settings is None or not settings.alertmanager_url_list:
        return f"#{number} unchanged: Klaxon has no Alertmanager to silence in"
    refused, paged = await _may_act(session, number, by)
    if refused is not None:
        return refused
    sets = await ack_silences.label_sets(session, number)
    if not sets:
        return f"#{number} unchanged: it has no firing Alertmanager alert to silence"
    try:
        acknowledged = await lifecycle.acknowledge(
            session, number, by=by.name, via="sms", now=now, paged=paged
        )
    except Conflict:
        return f"#{number} is already resolved"
    until = await requested.silence_incident(
        session, settings, number, sets, seconds=seconds, by=by.name, via="sms", now=now
    )
    head = f"#{number} acknowledged and" if acknowledged else f"#{number}"
    return f"{head} silenced in Alertmanager until {describe_until(until, now)}"


async def handle_sms(
    session: AsyncSession,
    *,
    from_number: str,
    body: str,
    now: datetime,
    bare_window: timedelta,
    rules: RulesFile,
    settings: Settings | None = None,
) -> str | None:
    """Act on an inbound SMS; return the reply text, or None to stay silent.

    A number that belongs to no responder changes nothing and hears nothing. A
    responder's text that is not understood is answered with help, a few times
    an hour at most (app/replies/limits.py); commands are always answered. A
    reply without a number (``A``, ``R``, ``AA``) acts on the latest page to the
    phone only when it was sent within ``bare_window``.
    """
    responder = await get_responder_by_phone(session, from_number)
    if responder is None:
        SMS_REPLIES_SUPPRESSED.labels("unknown_sender").inc()
        log.info("ignored a text from %s: no responder has that number", mask_phone(from_number))
        return None
    reply = parse_reply(body)
    if reply is None:
        if await limits.take_answer(session, from_number, now=now):
            return HELP_TEXT
        SMS_REPLIES_SUPPRESSED.labels("over_limit").inc()
        log.info(
            "not answering a text not understood from %s: %d answers already within %s",
            mask_phone(from_number),
            limits.ANSWERS_PER_WINDOW,
            limits.WINDOW,
        )
        return None
    by = responder
    if reply.action == "ack_all":
        latest = await _latest_page(session, from_number)
        if latest is None:
            return "No recent page to acknowledge"
        numbers = sorted(await bundle_numbers(session, latest.bundled_into or latest.id))
        refused = _too_old(latest, numbers, now=now, window=bare_window)
        if refused is not None:
            return refused
        return "; ".join([await _ack(session, n, by, "sms", now) for n in numbers])
    number = reply.number
    if number is None:
        latest = await _latest_page(session, from_number)
        if latest is None:
            return "No recent page to act on"
        number = int(latest.incident_number)
        refused = _too_old(latest, [number], now=now, window=bare_window)
        if refused is not None:
            return refused
    if reply.action == "ack":
        return await _ack(session, number, by, "sms", now)
    if reply.action == "silence" and reply.seconds is not None:
        return await _silence(session, number, reply.seconds, by, now, settings)
    if reply.action == "command":
        return await _command(session, number, by, "sms", now)
    if reply.action == "run":  # 42X: the action the page offered (app/automation/approval.py)
        return await approval.approve(session, rules, number, by, via="sms", now=now)
    return await _resolve(session, number, by, "sms", now)


async def handle_digit(
    session: AsyncSession,
    *,
    numbers: list[int],
    responder_id: int | None,
    digit: str,
    now: datetime,
    rules: RulesFile,
) -> str:
    """A key pressed on a page call to the responder ``responder_id``: 4
    acknowledges, 6 resolves every incident the call announced; RUN_KEY runs
    the action the call of one incident offered."""
    if digit not in ("4", "6", RUN_KEY) or (digit == RUN_KEY and len(numbers) != 1):
        return "Unknown choice."
    by = None if responder_id is None else await get_responder_by_id(session, responder_id)
    if by is None:
        listed = ", ".join(f"Incident {n}" for n in numbers)
        return f"The responder of this call no longer exists; {listed} unchanged"
    if digit == RUN_KEY:
        ran = await approval.approve(session, rules, numbers[0], by, via="voice", now=now)
        return ran.replace("#", "Incident ")
    act = _ack if digit == "4" else _resolve
    said = [await act(session, number, by, "voice", now) for number in numbers]
    return ". ".join(said).replace("#", "Incident ")


#: The same rules and answers for a responder acting from chat (app/chat/commands.py):
#: a policy's ``ack: paged-only`` holds there as it does for a phone.
acknowledge_as = _ack
resolve_as = _resolve
command_as = _command
