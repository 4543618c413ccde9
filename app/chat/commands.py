"""``/incident`` and ``/oncall``: what a slash command does, and what it answers.

Each function runs in the request's transaction, as the responder the Slack
user is mapped to, and returns the ephemeral text Slack shows that user. What
others must see (the card) follows from the timeline (app/chat/cards.py), so
nothing here posts to Slack. A refusal (a policy's ``ack: paged-only``, a
resolved incident) is an answer, not an error; a :class:`KlaxonError` raised
here rolls the whole command back and its message is the answer.

Grammar (``#`` before a number is optional)::

    /incident                          this channel's incident, or the open incidents
    /incident ack|resolve [#n]         n, this channel's incident, or the only open one
    /incident update [#n] <status> <text>
                                       status: investigating|identified|monitoring|resolved
    /incident declare <title> [SEV1-4] [service:<name>]
    /incident role|publish|public …    app/chat/response_commands.py
    /oncall [schedule]                 who now, until when, who next
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import response_commands
from app.errors import KlaxonError
from app.models import chat_cards_table, incidents_table
from app.oncall import store
from app.replies.actions import acknowledge_as, resolve_as
from app.response.declare import open_reported_incident
from app.response.schemas import PHASES, IncidentReport, Phase
from app.response.updates import post_update
from app.rules import RulesFile

HELP = (
    "Usage: `/incident` (open incidents) · `/incident ack [#n]` · `/incident resolve [#n]`"
    " · `/incident update [#n] <investigating|identified|monitoring|resolved> <text>`"
    " · `/incident declare <title> [SEV1-4] [service:<name>]`"
    " · `/incident role ic|comms|scribe|sme @user [#n]`"
    " · `/incident publish [#n] <public name> | <public text>`"
    " · `/incident public [#n] <investigating|identified|monitoring|resolved> <public text>`"
    " · `/oncall [schedule]` · `/postmortem [#n]`"
)
DECLARED_SEVERITY = "SEV3"  # when /incident declare names none
DECLARED_SERVICE = "unknown"  # when it names no service: routed like any such alert
OPEN_LISTED = 10

_NUMBER = re.compile(r"^#?(\d{1,9})$")
_SEVERITY = re.compile(r"^sev([1-4])$", re.IGNORECASE)
_SERVICE = re.compile(r"^service:(\S{1,200})$")


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else "further notice"


async def _open_incidents(session: AsyncSession) -> list[Any]:
    i = incidents_table.c
    query = (
        select(incidents_table)
        .where(i.status != "resolved")
        .order_by(i.number.desc())
        .limit(OPEN_LISTED + 1)
    )
    return list(await session.execute(query))


def _line(row: Any) -> str:
    status = row.status
    if row.status == "acknowledged" and row.acknowledged_by:
        status = f"acknowledged by {row.acknowledged_by}"
    return f"• *#{row.number}* {row.severity} {status}: {row.title}"


async def list_open(session: AsyncSession) -> str:
    rows = await _open_incidents(session)
    if not rows:
        return "No open incidents."
    more = "\n…and more: see the API or the console" if len(rows) > OPEN_LISTED else ""
    lines = "\n".join(_line(r) for r in rows[:OPEN_LISTED])
    return f"Open incidents:\n{lines}{more}"


async def channel_incident(session: AsyncSession, channel: str) -> int | None:
    """The incident whose own channel ``channel`` is, in Slack or Mattermost
    (app/chat/channels.py, app/chat/mattermost_channels.py)."""
    c = chat_cards_table.c
    if not channel:
        return None
    own = (c.incident_channel == channel) | (c.mattermost_channel == channel)
    query = select(c.incident_number).where(own).limit(1)
    return (await session.execute(query)).scalar()


async def _target(
    session: AsyncSession, words: list[str], channel: str = ""
) -> tuple[int | None, str]:
    """The incident a command names (and pops), this channel's, or the only open
    one; else why not."""
    if words and (match := _NUMBER.match(words[0])):
        words.pop(0)
        return int(match.group(1)), ""
    if (own := await channel_incident(session, channel)) is not None:
        return own, ""
    rows = await _open_incidents(session)
    if len(rows) == 1:
        return int(rows[0].number), ""
    if not rows:
        return None, "There is no open incident; name one: `#n`."
    numbers = " ".join(f"#{r.number}" for r in rows[:OPEN_LISTED])
    return None, f"Which incident? Name it with `#n` (open: {numbers})."


async def ack_or_resolve(
    session: AsyncSession,
    resolving: bool,
    words: list[str],
    *,
    by: Any,
    now: datetime,
    channel: str = "",
    via: str = "slack",
) -> str:
    number, why = await _target(session, words, channel)
    if number is None:
        return why
    act = resolve_as if resolving else acknowledge_as
    return await act(session, number, by, via, now)


async def update(
    session: AsyncSession, words: list[str], *, by: Any, now: datetime, channel: str = ""
) -> str:
    number, why = await _target(session, words, channel)
    if number is None:
        return why
    if not words or words[0].lower() not in PHASES:
        return f"Say the status first: one of {', '.join(PHASES)}. {HELP}"
    phase = cast(Phase, words.pop(0).lower())
    message = " ".join(words).strip().strip('"“”')
    if not message:
        return "Say what changed after the status, e.g. `identified rollback started`."
    _, texted = await post_update(session, number, phase, message, by=by.name, now=now)
    return f"#{number} status update posted ({phase}), texted to {texted} stakeholder(s)."


async def declare(
    session: AsyncSession, rules: RulesFile, words: list[str], *, by: Any, now: datetime
) -> str:
    severity, service, title_words = DECLARED_SEVERITY, DECLARED_SERVICE, []
    for word in words:
        if match := _SEVERITY.match(word):
            severity = f"SEV{match.group(1)}"
        elif match := _SERVICE.match(word):
            service = match.group(1)
        else:
            title_words.append(word)
    title = " ".join(title_words).strip().strip('"“”')
    if not title:
        return "Give the incident a title: `/incident declare <title> [SEV1-4] [service:<name>]`."
    try:
        report = IncidentReport.model_validate(
            {"title": title, "severity": severity, "service": service}
        )
    except ValueError as exc:
        raise KlaxonError(f"cannot declare: {exc}") from exc
    number = await open_reported_incident(session, rules, report, by=by.name, now=now)
    return f"Declared #{number} ({severity}, service {service}): {title}. Paging has started."


async def incident(
    session: AsyncSession,
    rules: RulesFile,
    text: str,
    *,
    by: Any,
    now: datetime,
    channel: str = "",
    via: str = "slack",
) -> str:
    """``/incident …`` for responder ``by``, typed in ``channel`` of chat ``via``."""
    words = text.split()
    if not words:
        own = await channel_incident(session, channel)
        if own is None:
            return await list_open(session)
        i = incidents_table.c
        row = (await session.execute(select(incidents_table).where(i.number == own))).one()
        return _line(row).removeprefix("• ")
    verb = words.pop(0).lower()
    if verb in ("ack", "acknowledge", "resolve"):
        resolving = verb == "resolve"
        return await ack_or_resolve(
            session, resolving, words, by=by, now=now, channel=channel, via=via
        )
    if verb == "update":
        return await update(session, words, by=by, now=now, channel=channel)
    if verb == "declare":
        return await declare(session, rules, words, by=by, now=now)
    if verb in ("role", "publish", "public"):
        return await _respond(session, rules, verb, words, by=by, now=now, channel=channel)
    return HELP


async def _respond(
    session: AsyncSession,
    rules: RulesFile,
    verb: str,
    words: list[str],
    *,
    by: Any,
    now: datetime,
    channel: str,
) -> str:
    """``role``, ``publish`` and ``public``: a ``#n`` anywhere in ``words``."""
    named = response_commands.take_number(words)
    number, why = (named, "") if named is not None else await _target(session, [], channel)
    if number is None:
        return why
    i = incidents_table.c
    row = (await session.execute(select(incidents_table).where(i.number == number))).first()
    if row is None:
        return f"No incident #{number}"
    if verb == "role":
        return await response_commands.role(session, number, words, by=by, now=now)
    if verb == "public":
        return await response_commands.public_update(session, rules, number, words, by=by, now=now)
    return await response_commands.publish_incident(
        session, rules, number, words, by=by, now=now, severity=row.severity, service=row.service
    )


async def postmortem(
    session: AsyncSession, text: str, *, by: Any, now: datetime, channel: str, base_url: str
) -> str:
    """``/postmortem [#n]``: create or link the draft (without ``#n``: this
    channel's incident, the only open one, or, none open, the latest)."""
    number, why = await _target(session, text.split(), channel)
    if number is None and not await _open_incidents(session):
        number = (await session.execute(select(func.max(incidents_table.c.number)))).scalar()
    if number is None:
        return why
    i = incidents_table.c
    if (await session.execute(select(i.number).where(i.number == number))).first() is None:
        return f"No incident #{number}"
    return await response_commands.postmortem_draft(
        session, number, by=by, now=now, base_url=base_url
    )


async def oncall(session: AsyncSession, text: str, *, now: datetime) -> str:
    """``/oncall [schedule]``: who is on call now, until when, and who is next."""
    name = text.strip()
    if name:
        answers = await store.oncall_now(session, [name], now)
        if not answers:
            return f"No schedule {name!r}."
    else:
        answers = await store.oncall_everywhere(session, now)
        if not answers:
            return "No schedules yet."
    lines = []
    for schedule, answer in answers.items():
        who = answer.responder or "nobody"
        line = f"• *{schedule}*: {who} until {_when(answer.until)}"
        if answer.until is not None:
            following = (await store.oncall_now(session, [schedule], answer.until))[schedule]
            line += f", then {following.responder or 'nobody'}"
        lines.append(line)
    return "On call now:\n" + "\n".join(lines)


async def run(
    session: AsyncSession,
    rules: RulesFile,
    command: str,
    text: str,
    *,
    by: Any,
    now: datetime,
    channel: str,
    base_url: str,
    via: str,
) -> str:
    """One slash command, from Slack or Mattermost (``via``), as responder ``by``."""
    if command == "/oncall":
        return await oncall(session, text, now=now)
    if command == "/incident":
        return await incident(session, rules, text, by=by, now=now, channel=channel, via=via)
    if command == "/postmortem":
        return await postmortem(session, text, by=by, now=now, channel=channel, base_url=base_url)
    return f"Klaxon does not know {command or 'this command'}. {HELP}"
