"""Shifts as people live them: who works when across every schedule, how much of
it is off-hours, and the calendar feed (RFC 5545) that carries it to their phone.

A shift here is a stretch of :func:`app.oncall.rotation.render_shifts`: layers
resolved (higher layers win, restrictions clipped), overrides applied, so what a
feed or the CSV shows is what paging would do. Stretches keep their source
(a layer's name, or ``override``): that is the role a summary names.

Off-hours: time outside ``calendar_work_start_hour``-``calendar_work_end_hour``
on Monday to Friday in the *responder's* time zone (the playbook compensates
the evenings, nights and weekends a person was on call, wherever they live).
Day boundaries follow that zone's wall clock, so a DST change shifts them with
it: a Saturday is off-hours whether it lasts 23, 24 or 25 hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vDuration
from sqlalchemy.ext.asyncio import AsyncSession

from app.oncall import rotation, store

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Worked:
    """One shift of one responder on one schedule, in UTC."""

    schedule: str
    responder: str
    role: str  # the layer's name, or "override"
    start: datetime
    end: datetime

    @property
    def uid(self) -> str:
        """Stable across fetches: the same shift keeps its UID while its schedule,
        responder, role and start stay; calendar apps update it in place."""
        key = f"{self.schedule}\x00{self.responder}\x00{self.role}\x00{self.start.isoformat()}"
        return hashlib.sha256(key.encode()).hexdigest()[:32] + "@klaxon"


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def all_schedules(
    session: AsyncSession, *, ending_after: datetime | None = None
) -> dict[str, rotation.Schedule]:
    """Every schedule, computable, by name (sorted)."""
    found: dict[str, rotation.Schedule] = {}
    for row in await store.list_schedules(session):
        schedule = await store.load_schedule(session, row.name, ending_after=ending_after)
        if schedule is not None:
            found[row.name] = schedule
    return found


def worked(
    schedules: dict[str, rotation.Schedule],
    start: datetime,
    end: datetime,
    *,
    responder: str | None = None,
) -> list[Worked]:
    """The shifts over ``[start, end)`` on these schedules (one responder's, or
    everyone's), by start, then schedule."""
    found = [
        Worked(name, s.responder, s.source, s.start, s.end)
        for name, schedule in schedules.items()
        for s in rotation.render_shifts(schedule, start, end)
        if responder is None or s.responder == responder
    ]
    return sorted(found, key=lambda w: (w.start, w.schedule, w.end))


def _at(zone: ZoneInfo, day: date, hour: int) -> datetime:
    """``hour`` o'clock on ``day`` in ``zone`` as UTC (24 is the next midnight)."""
    wall = datetime.combine(day, time(0)) + timedelta(hours=hour)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def off_hours(
    start: datetime, end: datetime, time_zone: str | None, work_start: int, work_end: int
) -> timedelta:
    """How much of ``[start, end)`` falls outside working hours (``work_start``
    to ``work_end`` o'clock, Monday to Friday) in ``time_zone``."""
    zone = zone_of(time_zone)
    total = max(end - start, timedelta(0))
    working = timedelta(0)
    day = start.astimezone(zone).date() - _DAY
    last = end.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() <= 5 and work_end > work_start:
            opens, closes = _at(zone, day, work_start), _at(zone, day, work_end)
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                working += overlap
        day += _DAY
    return total - working


def feed(
    shifts: list[Worked],
    *,
    name: str,
    now: datetime,
    refresh: timedelta,
    with_responder: bool,
) -> bytes:
    """An iCalendar document of ``shifts``: a VEVENT each, UTC times, marked
    transparent (free) so on-call time does not block a person's calendar."""
    calendar = Calendar()
    calendar.add("prodid", "-//Klaxon//on-call shifts//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))
    for shift in shifts:
        event = Event()
        event.add("uid", shift.uid)
        event.add("dtstamp", now.astimezone(UTC))
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        who = f"{shift.responder} " if with_responder else ""
        event.add("summary", f"{who}on call: {shift.schedule} ({shift.role})")
        event.add(
            "description",
            f"On call for schedule {shift.schedule} as {shift.role}"
            f" ({'an override' if shift.role == rotation.OVERRIDE_SOURCE else 'rotation layer'}).",
        )
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["On call"])
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body
