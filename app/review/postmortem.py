"""Post-mortems: the sections people write, stored; the draft around them,
regenerated from the incident on every read (``app.review.draft``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents import queries
from app.ingest.repeat_summary import alert_repeats
from app.models import (
    Postmortem,
    alerts_table,
    notifications_table,
    postmortems_table,
    responders_table,
    stakeholders_table,
)
from app.models.rows import typed_or_none
from app.response import changes
from app.response.roles import Roles, current_roles, roles_line
from app.review import action_items
from app.review.draft import DraftFacts, render_draft
from app.timeline import notices_of

SECTIONS = ("summary", "root_cause", "lessons_learned", "impact_notes")
#: How the draft names the holder of each role, in place of their name.
ROLE_NAMES = {
    "commander": "incident commander",
    "comms": "communications lead",
    "scribe": "scribe",
    "sme": "subject-matter expert",
}


def role_of(held: Roles) -> dict[str, str]:
    """name -> the role(s) they hold (``incident commander and scribe``)."""
    found: dict[str, list[str]] = {}
    for role in ("commander", "comms", "scribe"):
        name = getattr(held, role)
        if name is not None:
            found.setdefault(name, []).append(ROLE_NAMES[role])
    for name in held.sme:
        found.setdefault(name, []).append(ROLE_NAMES["sme"])
    return {name: " and ".join(roles) for name, roles in found.items()}


async def get_sections(session: AsyncSession, number: int) -> Postmortem | None:
    p = postmortems_table.c
    stmt = select(postmortems_table).where(p.incident_number == number)
    return typed_or_none(Postmortem, (await session.execute(stmt)).first())


async def save_sections(
    session: AsyncSession, number: int, changes: dict[str, str | None], *, by: str, now: datetime
) -> None:
    """Set the given sections (None clears one); the others stay."""
    await queries.get_incident(session, number)
    unknown = set(changes) - set(SECTIONS)
    assert not unknown, unknown
    p = postmortems_table.c
    if await get_sections(session, number) is None:
        await session.execute(
            insert(postmortems_table).values(
                incident_number=number, updated_by=by, created_at=now, updated_at=now, **changes
            )
        )
    else:
        await session.execute(
            update(postmortems_table)
            .where(p.incident_number == number)
            .values(updated_by=by, updated_at=now, **changes)
        )


async def _facts(session: AsyncSession, number: int, change_window: timedelta) -> DraftFacts:
    incident = await queries.get_incident(session, number)
    sections = await get_sections(session, number)
    a, n = alerts_table.c, notifications_table.c
    alerts, repeats = (
        await session.execute(
            select(func.count(a.id), func.coalesce(func.sum(alert_repeats()), 0)).where(
                a.incident_number == number
            )
        )
    ).one()
    paged, pages = (
        await session.execute(
            select(func.count(n.responder_id.distinct()), func.count(n.id)).where(
                n.incident_number == number, n.kind == "page", n.state == "sent"
            )
        )
    ).one()
    names = set((await session.execute(select(responders_table.c.name))).scalars())
    names |= set(
        (
            await session.execute(
                select(stakeholders_table.c.name).where(
                    stakeholders_table.c.service.in_(
                        [incident.service, *(incident.affected_services or [])]
                    )
                )
            )
        ).scalars()
    )
    held = await current_roles(session, number)
    return DraftFacts(
        incident=incident,
        events=await queries.incident_timeline(session, number),
        sections=sections.model_dump() if sections is not None else {},
        action_items=[r.model_dump() for r in await action_items.for_incident(session, number)],
        alerts=int(alerts),
        repeats=int(repeats),
        people_paged=int(paged),
        pages_sent=int(pages),
        names=names,
        changes=await changes.for_incident(session, incident, change_window),
        roles=roles_line(held.public()),
        notices=await notices_of(session, number),
        role_of=role_of(held),
    )


async def draft(
    session: AsyncSession, number: int, *, change_window: timedelta = changes.DEFAULT_WINDOW
) -> tuple[str, Postmortem | None]:
    """The Markdown draft and the stored sections (None if nothing is written yet)."""
    facts = await _facts(session, number, change_window)
    return render_draft(facts), await get_sections(session, number)
