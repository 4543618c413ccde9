"""What a window would touch, before it is made: the firing alerts it covers now
and the on-call shifts of its occurrences in the next weeks (schedules of its
services, or every schedule when it names none), so its author sees whose pages
it holds back."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance.windows import Window, covers, occurrences
from app.models import alerts_table
from app.oncall import store as oncall_store
from app.oncall.rotation import render_shifts

DAYS = 14
MAX_OCCURRENCES = 20
MAX_ALERTS = 500


class PreviewAlert(BaseModel):
    id: int
    name: str
    service: str
    severity: str
    incident_number: int | None
    labels: dict[str, str]


class PreviewShift(BaseModel):
    schedule: str
    responder: str
    start: datetime
    end: datetime


class PreviewOccurrence(BaseModel):
    start: datetime
    end: datetime
    shifts: list[PreviewShift] = Field(description="Who is on call during it, schedule by schedule")


class Preview(BaseModel):
    firing_alerts: list[PreviewAlert] = Field(description="Alerts firing now that it covers")
    occurrences: list[PreviewOccurrence] = Field(
        description=f"Its occurrences in the next {DAYS} days (at most {MAX_OCCURRENCES})"
    )


async def preview(session: AsyncSession, window: Window, *, now: datetime) -> Preview:
    a = alerts_table.c
    firing = await session.execute(
        select(alerts_table).where(a.status == "firing").order_by(a.id.desc()).limit(MAX_ALERTS)
    )
    alerts = [
        PreviewAlert(
            id=row.id,
            name=row.name,
            service=row.service,
            severity=row.severity,
            incident_number=row.incident_number,
            labels={str(k): str(v) for k, v in row.labels.items()},
        )
        for row in firing
        if covers(window, dict(row.labels), row.service)
    ]
    schedules = [
        row.name
        for row in await oncall_store.list_schedules(session)
        if not window.services or set(row.services) & set(window.services)
    ]
    loaded = [await oncall_store.load_schedule(session, name) for name in schedules]
    found: list[PreviewOccurrence] = []
    for occurrence in occurrences(window, now, now + timedelta(days=DAYS))[:MAX_OCCURRENCES]:
        shifts = [
            PreviewShift(
                schedule=schedule.name, responder=shift.responder, start=shift.start, end=shift.end
            )
            for schedule in loaded
            if schedule is not None
            for shift in render_shifts(schedule, occurrence.start, occurrence.end)
        ]
        found.append(PreviewOccurrence(start=occurrence.start, end=occurrence.end, shifts=shifts))
    return Preview(firing_alerts=alerts, occurrences=found)
