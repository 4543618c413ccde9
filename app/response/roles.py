"""Incident roles: who commands, who talks to everyone else, who writes it down.

The playbook gives every incident an incident commander, a communications
lead and a scribe (one person each) and any number of subject-matter experts.
Whoever acknowledges an incident commands it unless someone already does
(:func:`default_commander`, called by :mod:`app.incidents.lifecycle` for every
channel: SMS, voice, API). Assigning a role to someone else is the handover,
said so on the timeline (``command handed from alice to bob``).

Roles name responders, so a role can only go to a responder that exists; a
resolved incident can still be given roles, so that the post-mortem records
who was who. Every write holds the incident's row lock, and a partial unique
index keeps one holder per single role whatever the code does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.incidents.locks import locked_incident
from app.incidents.schemas import RolesPublic
from app.models import incident_roles_table
from app.oncall.store import get_responder
from app.text import one_line
from app.timeline import event_row, record

Role = Literal["commander", "comms", "scribe"]
ROLES: Final[tuple[Role, ...]] = ("commander", "comms", "scribe")
SME: Final = "sme"

# How the timeline names each role.
_CALLED: Final[dict[str, str]] = {
    "commander": "command",
    "comms": "communications lead",
    "scribe": "scribe",
}
# How the status text names each role.
_SHORT: Final[dict[str, str]] = {"commander": "IC", "comms": "Comms", "scribe": "Scribe"}


@dataclass(frozen=True)
class Roles:
    commander: str | None = None
    comms: str | None = None
    scribe: str | None = None
    sme: tuple[str, ...] = field(default_factory=tuple)

    def holder(self, role: Role) -> str | None:
        held: str | None = getattr(self, role)
        return held

    def public(self) -> RolesPublic:
        return RolesPublic(
            commander=self.commander, comms=self.comms, scribe=self.scribe, sme=list(self.sme)
        )

    def as_data(self) -> dict[str, Any]:
        """As stored with a status update (what it said of the roles then)."""
        return self.public().model_dump()

    def is_empty(self) -> bool:
        return not (self.commander or self.comms or self.scribe or self.sme)


def roles_line(roles: RolesPublic) -> str | None:
    """``IC: alice · Comms: bob · SME: carol, dave``: the roles held, or None.
    On one line: a commander by acknowledgement is named as the API was told
    (any text), and must not add a line to the text it is shown in."""
    parts = [
        f"{_SHORT[role]}: {one_line(held)}"
        for role in ROLES
        if (held := getattr(roles, role)) is not None
    ]
    if roles.sme:
        parts.append(f"SME: {', '.join(roles.sme)}")
    return " · ".join(parts) or None


def blameless_change(data: dict[str, Any]) -> str:
    """A role event as the post-mortem's timeline tells it: the role, not the people."""
    role, before, after = data.get("role"), data.get("from"), data.get("to")
    if role == SME:
        return "Subject-matter expert joined" if after else "Subject-matter expert left"
    called = _CALLED.get(str(role), str(role))
    what = "Command" if role == "commander" else called[0].upper() + called[1:]
    if after is None:
        return f"{what}: nobody holds it any more"
    return f"{what} handed over" if before else f"{what} taken"


def _from_rows(rows: list[Any]) -> Roles:
    single = {row.role: row.responder for row in rows if row.role != SME}
    return Roles(
        commander=single.get("commander"),
        comms=single.get("comms"),
        scribe=single.get("scribe"),
        sme=tuple(row.responder for row in rows if row.role == SME),
    )


async def current_roles(session: AsyncSession, number: int) -> Roles:
    r = incident_roles_table.c
    rows = await session.execute(
        select(r.role, r.responder).where(r.incident_number == number).order_by(r.id)
    )
    return _from_rows(list(rows))


async def roles_of(session: AsyncSession, numbers: list[int]) -> dict[int, Roles]:
    """The roles of each of ``numbers`` (an incident without any has none listed)."""
    if not numbers:
        return {}
    r = incident_roles_table.c
    rows = list(
        await session.execute(
            select(r.incident_number, r.role, r.responder)
            .where(r.incident_number.in_(sorted(set(numbers))))
            .order_by(r.id)
        )
    )
    return {
        number: _from_rows([row for row in rows if row.incident_number == number])
        for number in {row.incident_number for row in rows}
    }


async def _known_responder(session: AsyncSession, name: str) -> None:
    if await get_responder(session, name) is None:
        raise NotFound(f"no responder {name!r}")


async def _insert(
    session: AsyncSession, number: int, role: str, responder: str, *, by: str, now: datetime
) -> None:
    await session.execute(
        insert(incident_roles_table).values(
            incident_number=number,
            role=role,
            responder=responder,
            assigned_by=by,
            assigned_at=now,
        )
    )


async def _remove(session: AsyncSession, number: int, role: str, responder: str | None) -> None:
    r = incident_roles_table.c
    where = [r.incident_number == number, r.role == role]
    if responder is not None:
        where.append(r.responder == responder)
    await session.execute(delete(incident_roles_table).where(*where))


async def _note(
    session: AsyncSession,
    number: int,
    message: str,
    *,
    by: str,
    now: datetime,
    data: dict[str, Any],
) -> None:
    await record(session, [event_row(number, "role", message, at=now, actor=by, data=data)])


async def assign(
    session: AsyncSession, number: int, role: Role, responder: str, *, by: str, now: datetime
) -> Roles:
    """Give ``role`` to ``responder``: from whoever held it, if anyone (the
    handover). Giving it to its holder changes nothing."""
    await locked_incident(session, number)
    await _known_responder(session, responder)
    before = (await current_roles(session, number)).holder(role)
    if before == responder:
        return await current_roles(session, number)
    await _remove(session, number, role, None)
    await _insert(session, number, role, responder, by=by, now=now)
    if before is None:
        message = (
            f"{responder} took command"
            if role == "commander"
            else f"{responder} is {_CALLED[role]}"
        )
    else:
        message = f"{_CALLED[role]} handed from {before} to {responder}"
    data = {"role": role, "from": before, "to": responder}
    await _note(session, number, message, by=by, now=now, data=data)
    return await current_roles(session, number)


async def clear(session: AsyncSession, number: int, role: Role, *, by: str, now: datetime) -> Roles:
    """Nobody holds ``role`` any more (clearing an empty role changes nothing)."""
    await locked_incident(session, number)
    before = (await current_roles(session, number)).holder(role)
    if before is not None:
        await _remove(session, number, role, None)
        message = (
            f"{before} no longer has command"
            if role == "commander"
            else f"{before} is no longer {_CALLED[role]}"
        )
        data = {"role": role, "from": before, "to": None}
        await _note(session, number, message, by=by, now=now, data=data)
    return await current_roles(session, number)


async def add_sme(
    session: AsyncSession, number: int, responder: str, *, by: str, now: datetime
) -> Roles:
    """Add a subject-matter expert (one already listed stays listed once)."""
    await locked_incident(session, number)
    await _known_responder(session, responder)
    if responder not in (await current_roles(session, number)).sme:
        await _insert(session, number, SME, responder, by=by, now=now)
        data = {"role": SME, "from": None, "to": responder}
        message = f"{responder} joined as subject-matter expert"
        await _note(session, number, message, by=by, now=now, data=data)
    return await current_roles(session, number)


async def remove_sme(
    session: AsyncSession, number: int, responder: str, *, by: str, now: datetime
) -> Roles:
    await locked_incident(session, number)
    if responder not in (await current_roles(session, number)).sme:
        raise NotFound(f"{responder!r} is not a subject-matter expert on #{number}")
    await _remove(session, number, SME, responder)
    data = {"role": SME, "from": responder, "to": None}
    message = f"{responder} is no longer a subject-matter expert"
    await _note(session, number, message, by=by, now=now, data=data)
    return await current_roles(session, number)


async def default_commander(session: AsyncSession, number: int, who: str, now: datetime) -> None:
    """Whoever acknowledges commands, unless someone already does. The caller
    holds the incident's lock; the timeline's acknowledgement says who."""
    if (await current_roles(session, number)).commander is None:
        await _insert(session, number, "commander", who, by=who, now=now)
