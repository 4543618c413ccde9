"""Publishing an incident on the status page, and its later public updates.

An incident is never public by itself: a person (a ``write`` token: the
commander or the comms lead) publishes it, naming it for the public, choosing
the components it holds and their status, and writing the public text, which
is kept apart from the internal status updates (app/response/updates.py).
A ``resolved`` public update returns the incident's components to operational;
the page shows each component at the worst status of the unresolved public
incidents that hold it, so one that another incident holds keeps that status.

Each publication and update goes on the incident's timeline, and queues what
the page's subscribers hear of it (app/statuspage/fanout.py). Nothing here
commits; the caller commits, then invalidates the page's cache.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, KlaxonError, NotFound
from app.incidents.locks import locked_incident
from app.models import public_components_table, public_incidents_table, public_updates_table
from app.rules.status_page import StatusPageConfig
from app.statuspage.fanout import fan_out, page_statuses
from app.statuspage.schemas import (
    PublicIncidentPublic,
    PublicUpdateCreate,
    PublicUpdatePublic,
    PublishIncident,
)
from app.statuspage.words import COMPONENT_RANK, SEVERITY_IMPACT
from app.text import clip, one_line
from app.timeline import event_row, record

PUBLIC_ID_BYTES = 6  # 12 hex digits, as Statuspage's ids are 12 characters


def _public_id() -> str:
    return secrets.token_hex(PUBLIC_ID_BYTES)


def _check_components(page: StatusPageConfig, components: Mapping[str, str]) -> None:
    unknown = sorted(service for service in components if page.component(service) is None)
    if unknown:
        known = ", ".join(c.service for c in page.components) or "none: add a status_page block"
        raise KlaxonError(
            f"components: {', '.join(map(repr, unknown))} not on the status page"
            f" (the rules file's status_page components: {known})",
            status_code=422,
        )


async def _public_row(session: AsyncSession, number: int) -> Any:
    return (
        await session.execute(
            select(public_incidents_table).where(public_incidents_table.c.incident_number == number)
        )
    ).first()


async def _set_components(
    session: AsyncSession, number: int, components: Mapping[str, str], now: datetime
) -> None:
    held = {
        row.service: row
        for row in (
            await session.execute(
                select(public_components_table).where(
                    public_components_table.c.incident_number == number
                )
            )
        ).all()
    }
    for service, status in components.items():
        row = held.get(service)
        if row is None:
            await session.execute(
                insert(public_components_table).values(
                    incident_number=number,
                    service=service,
                    status=status,
                    worst=status,
                    updated_at=now,
                )
            )
            continue
        worst = max(row.worst, status, key=COMPONENT_RANK.__getitem__)
        await session.execute(
            update(public_components_table)
            .where(
                public_components_table.c.incident_number == number,
                public_components_table.c.service == service,
            )
            .values(status=status, worst=worst, updated_at=now)
        )


async def _add_update(
    session: AsyncSession, number: int, status: str, body: str, *, by: str, now: datetime
) -> None:
    await session.execute(
        insert(public_updates_table).values(
            incident_number=number,
            public_id=_public_id(),
            status=status,
            body=body,
            author=clip(by, 200),
            created_at=now,
        )
    )


async def publish(
    session: AsyncSession,
    page: StatusPageConfig,
    number: int,
    body: PublishIncident,
    *,
    by: str,
    now: datetime,
) -> None:
    """Make incident ``number`` public; a 409 if it already is."""
    incident = await locked_incident(session, number)
    _check_components(page, dict(body.components))
    if await _public_row(session, number) is not None:
        raise Conflict(
            f"incident #{number} is already on the status page;"
            f" post to /api/v1/incidents/{number}/public/updates"
        )
    before = await page_statuses(session, page)  # for the subscribers' component updates
    impact = body.impact or SEVERITY_IMPACT.get(incident.severity, "minor")
    await session.execute(
        insert(public_incidents_table).values(
            incident_number=number,
            public_id=_public_id(),
            name=one_line(body.name),
            impact=impact,
            status=body.status,
            published_by=clip(by, 200),
            created_at=now,
            updated_at=now,
            monitoring_at=now if body.status == "monitoring" else None,
        )
    )
    await _add_update(session, number, body.status, body.body, by=by, now=now)
    await _set_components(session, number, dict(body.components), now)
    await record(
        session,
        [
            event_row(
                number,
                "published",
                f"Published on the status page: {body.name}",
                at=now,
                actor=by,
                data={"impact": impact, "status": body.status},
            )
        ],
    )
    await fan_out(session, page, number, before, now=now)


async def add_public_update(
    session: AsyncSession,
    page: StatusPageConfig,
    number: int,
    body: PublicUpdateCreate,
    *,
    by: str,
    now: datetime,
) -> None:
    """A later public update; a 404 if the incident is not public, a 409 once
    its public incident is resolved."""
    await locked_incident(session, number)
    _check_components(page, dict(body.components))
    public = await _public_row(session, number)
    if public is None:
        raise NotFound(f"incident #{number} is not on the status page; publish it first")
    if public.status == "resolved":
        raise Conflict(f"incident #{number} is resolved on the status page")
    before = await page_statuses(session, page)  # for the subscribers' component updates
    changes: dict[str, Any] = {"status": body.status, "updated_at": now}
    if body.impact is not None:
        changes["impact"] = body.impact
    if body.status == "monitoring" and public.monitoring_at is None:
        changes["monitoring_at"] = now
    components: dict[str, str] = dict(body.components)
    if body.status == "resolved":
        changes["resolved_at"] = now
        held = await session.execute(
            select(public_components_table.c.service).where(
                public_components_table.c.incident_number == number
            )
        )
        components = {service: "operational" for service in held.scalars()}
    await session.execute(
        update(public_incidents_table)
        .where(public_incidents_table.c.incident_number == number)
        .values(**changes)
    )
    await _add_update(session, number, body.status, body.body, by=by, now=now)
    await _set_components(session, number, components, now)
    await record(
        session,
        [
            event_row(
                number,
                "public_update",
                f"Status page update ({body.status})",
                at=now,
                actor=by,
                data={"status": body.status},
            )
        ],
    )
    await fan_out(session, page, number, before, now=now)


async def get_public(session: AsyncSession, number: int) -> PublicIncidentPublic:
    public = await _public_row(session, number)
    if public is None:
        raise NotFound(f"incident #{number} is not on the status page")
    updates = (
        await session.execute(
            select(public_updates_table)
            .where(public_updates_table.c.incident_number == number)
            .order_by(public_updates_table.c.id.desc())
        )
    ).all()
    components = (
        await session.execute(
            select(public_components_table).where(
                public_components_table.c.incident_number == number
            )
        )
    ).all()
    return PublicIncidentPublic(
        number=number,
        id=public.public_id,
        name=public.name,
        status=public.status,
        impact=public.impact,
        components={row.service: row.status for row in components},
        created_at=public.created_at,
        updated_at=public.updated_at,
        resolved_at=public.resolved_at,
        updates=[
            PublicUpdatePublic(
                id=row.public_id,
                status=row.status,
                body=row.body,
                author=row.author,
                created_at=row.created_at,
            )
            for row in updates
        ],
    )
