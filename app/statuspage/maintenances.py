"""Scheduled maintenance on the status page, from the maintenance windows
(app/maintenance/) that opted in with a ``public_title``.

A window without one is never read here. Of a public window only its public
title and description, its occurrences' times and the status page components
of its services are shown: its name, reason, author, matchers and the
services themselves stay internal (a service without a component is left
out, as on the rest of the page).

Each occurrence within the last week or the next 30 days is one maintenance
in Statuspage's v2 shape: ``scheduled`` before it starts, ``in_progress``
during it, ``completed`` after it (an occurrence ended early completes then).
Its id is stable per window and occurrence and spells neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance.windows import Occurrence, Window, occurrences
from app.models import MaintenanceWindow, maintenance_windows_table
from app.models.rows import typed
from app.rules.status_page import StatusPageConfig
from app.statuspage.summary import AffectedComponent, MaintenanceView, public_id

BACK = timedelta(days=7)
AHEAD = timedelta(days=30)
RECENT = 50  # as Statuspage's scheduled-maintenances.json
_W = maintenance_windows_table.c


def _status(occurrence: Occurrence, now: datetime) -> str:
    if now < occurrence.start:
        return "scheduled"
    return "in_progress" if now < occurrence.end else "completed"


async def maintenance_views(
    session: AsyncSession, page: StatusPageConfig, *, now: datetime
) -> tuple[MaintenanceView, ...]:
    """The public maintenances to show as of ``now``, latest start first."""
    rows = await session.execute(
        select(maintenance_windows_table).where(_W.public_title.is_not(None))
    )
    names = {c.service: c.name for c in page.ordered()}
    views: list[MaintenanceView] = []
    for found in rows:
        row = typed(MaintenanceWindow, found)
        assert row.public_title is not None  # the query's condition
        window = Window.of(row)
        for occurrence in occurrences(window, now - BACK, now + AHEAD):
            status = _status(occurrence, now)
            component = "under_maintenance" if status == "in_progress" else "operational"
            changed = [row.updated_at] + [t for t in (occurrence.start, occurrence.end) if t <= now]
            views.append(
                MaintenanceView(
                    id=public_id("maintenance", f"{row.id}:{occurrence.start.isoformat()}"),
                    name=row.public_title,
                    description=row.public_description,
                    status=status,
                    scheduled_for=occurrence.start,
                    scheduled_until=occurrence.end,
                    created_at=row.created_at,
                    updated_at=max(changed),
                    components=tuple(
                        AffectedComponent(public_id("component", s), names[s], component)
                        for s in sorted(window.services, key=lambda s: names.get(s, ""))
                        if s in names
                    ),
                )
            )
    views.sort(key=lambda m: m.scheduled_for, reverse=True)
    return tuple(views[:RECENT])
