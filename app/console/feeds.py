"""Calendar feeds and the shift CSV.

* ``/me/calendar``: the signed-in responder's secret feed link. Only the
  link's SHA-256 is stored (table ``calendar_feeds``), so the link is shown
  once, when made; making a new one replaces the row, which revokes the old
  link wherever it was subscribed.
* ``/calendar/{secret}.ics``: that responder's shifts across every schedule;
  ``/calendar/{secret}/schedules/{name}.ics``: everyone's shifts on one
  schedule. The secret is the credential (calendar apps send no cookie), so a
  wrong one is a plain 404, never a hint.
* ``/shifts.csv``: shifts worked over a period, with off-hours hours, and a
  total per responder (app/console/shifts.py says what off-hours means).

Feeds run from 30 days back to ``calendar_feed_days`` ahead. Shifts are
rendered from further back and only those still running at the window's start
are kept, so the first shift is not cut at a moving edge and keeps its UID.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import shifts
from app.console.access import SignedIn
from app.console.signin import hash_secret
from app.console.web import SECURITY_HEADERS, form_of, render, runtime_of
from app.errors import NotFound
from app.models import calendar_feeds_table, responders_table
from app.oncall import store
from app.settings import Settings
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)

FEED_BACK = timedelta(days=30)
RENDER_BACK = timedelta(days=35)  # before FEED_BACK: the first shift is whole
CSV_MAX_DAYS = 400
ICS_HEADERS = {
    "Content-Type": "text/calendar; charset=utf-8",
    "Cache-Control": "private, max-age=300",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def new_feed(session: AsyncSession, responder_id: int, now: datetime) -> str:
    """A new feed secret for the responder, replacing (revoking) any old one."""
    secret = secrets.token_urlsafe(32)
    f = calendar_feeds_table.c
    await session.execute(delete(calendar_feeds_table).where(f.responder_id == responder_id))
    await session.execute(
        insert(calendar_feeds_table).values(
            responder_id=responder_id, secret_hash=hash_secret(secret), created_at=now
        )
    )
    return secret


async def feed_made_at(session: AsyncSession, responder_id: int) -> datetime | None:
    f = calendar_feeds_table.c
    found = await session.execute(select(f.created_at).where(f.responder_id == responder_id))
    made: datetime | None = found.scalar()
    return made


async def _feed_owner(session: AsyncSession, secret: str) -> tuple[str, str] | None:
    """(name, time zone) of the responder whose live feed secret this is."""
    if not secret or len(secret) > 100:
        return None
    f, r = calendar_feeds_table.c, responders_table.c
    row = (
        await session.execute(
            select(r.name, r.time_zone)
            .join(calendar_feeds_table, f.responder_id == r.id)
            .where(f.secret_hash == hash_secret(secret))
        )
    ).first()
    return (row.name, row.time_zone) if row is not None else None


def work_hours(settings: Settings) -> str:
    return f"{settings.calendar_work_start_hour:02d}:00-{settings.calendar_work_end_hour:02d}:00"


def _base(request: Request, settings: Settings) -> str:
    return (settings.public_url or str(request.base_url)).rstrip("/")


@router.get("/me/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, viewer: SignedIn) -> Response:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        made = await feed_made_at(session, viewer.responder_id)
        names = [row.name for row in await store.list_schedules(session)]
    return render(
        request,
        "me_calendar.html",
        viewer=viewer,
        made=made,
        link=None,
        schedules=names,
        work_hours=work_hours(runtime.settings),
    )


@router.post("/me/calendar", response_class=HTMLResponse)
async def make_calendar_link(request: Request, viewer: SignedIn) -> Response:
    """Make a new link (revoking the old): shown on this answer only."""
    await form_of(request, viewer)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    async with unit_of_work(runtime) as uow:
        session = uow.session
        secret = await new_feed(session, viewer.responder_id, now)
        names = [row.name for row in await store.list_schedules(session)]
    base = _base(request, runtime.settings)
    return render(
        request,
        "me_calendar.html",
        viewer=viewer,
        made=now,
        link=f"{base}/calendar/{secret}.ics",
        schedule_links=[(n, f"{base}/calendar/{secret}/schedules/{n}.ics") for n in names],
        schedules=names,
        work_hours=work_hours(runtime.settings),
        notice="New calendar link made: any older link no longer works.",
    )


async def _feed(request: Request, secret: str, schedule: str | None) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    now = runtime.clock.now()
    first, last = now - FEED_BACK, now + timedelta(days=settings.calendar_feed_days)
    async with runtime.sessions() as session:
        owner = await _feed_owner(session, secret)
        if owner is None:
            raise NotFound("no such calendar")
        schedules = await shifts.all_schedules(session)
    if schedule is not None:
        if schedule not in schedules:
            raise NotFound(f"no schedule {schedule!r}")
        schedules = {schedule: schedules[schedule]}
    mine = schedule is None
    found = [
        s
        for s in shifts.worked(
            schedules, now - RENDER_BACK, last, responder=owner[0] if mine else None
        )
        if s.end > first
    ]
    body = shifts.feed(
        found,
        name=f"On call: {owner[0]}" if mine else f"On call: {schedule}",
        now=now,
        refresh=timedelta(minutes=settings.calendar_refresh_minutes),
        with_responder=not mine,
    )
    return Response(body, headers=ICS_HEADERS)


@router.get("/calendar/{secret}.ics")
async def responder_feed(request: Request, secret: str) -> Response:
    """One responder's shifts across every schedule (the secret is theirs)."""
    return await _feed(request, secret, None)


@router.get("/calendar/{secret}/schedules/{name}.ics")
async def schedule_feed(request: Request, secret: str, name: str) -> Response:
    """Everyone's shifts on one schedule (any responder's live secret opens it)."""
    return await _feed(request, secret, name)


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ShiftsQueryError(f"{what}: not a date (YYYY-MM-DD): {value[:40]!r}") from None


class ShiftsQueryError(ValueError):
    """A CSV period that cannot be read (answered 422 with the reason)."""


def _period(start: str, end: str, now: datetime) -> tuple[datetime, datetime]:
    today = now.astimezone(UTC).date()
    first = _day(start, "from") if start else today - timedelta(days=30)
    last = _day(end, "to") if end else today
    if last < first:
        raise ShiftsQueryError("to: must not be before from")
    if (last - first).days > CSV_MAX_DAYS:
        raise ShiftsQueryError(f"the period is at most {CSV_MAX_DAYS} days")
    # Whole UTC days, "to" included.
    return (
        datetime.combine(first, time(0), UTC),
        datetime.combine(last + timedelta(days=1), time(0), UTC),
    )


def _hours(value: timedelta) -> str:
    return f"{value.total_seconds() / 3600:.2f}"


def shifts_csv(found: list[shifts.Worked], zones: dict[str, str], settings: Settings) -> str:
    """A row per shift, then a total row per responder (``kind`` says which)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "kind",
            "responder",
            "time_zone",
            "schedule",
            "role",
            "start_utc",
            "end_utc",
            "hours",
            "off_hours",
        ]
    )
    totals: dict[str, tuple[timedelta, timedelta]] = {}
    for s in found:
        zone = zones.get(s.responder, "UTC")
        off = shifts.off_hours(
            s.start, s.end, zone, settings.calendar_work_start_hour, settings.calendar_work_end_hour
        )
        length = s.end - s.start
        writer.writerow(
            [
                "shift",
                s.responder,
                zone,
                s.schedule,
                s.role,
                f"{s.start:%Y-%m-%dT%H:%M:%SZ}",
                f"{s.end:%Y-%m-%dT%H:%M:%SZ}",
                _hours(length),
                _hours(off),
            ]
        )
        was = totals.get(s.responder, (timedelta(0), timedelta(0)))
        totals[s.responder] = (was[0] + length, was[1] + off)
    for who, (length, off) in sorted(totals.items()):
        zone = zones.get(who, "UTC")
        writer.writerow(["total", who, zone, "", "", "", "", _hours(length), _hours(off)])
    return out.getvalue()


@router.get("/shifts.csv")
async def shifts_download(
    request: Request,
    viewer: SignedIn,
    start: Annotated[str, Query(alias="from")] = "",
    end: Annotated[str, Query(alias="to")] = "",
) -> Response:
    """Shifts worked from ``from`` to ``to`` (UTC dates, both included)."""
    runtime = runtime_of(request)
    try:
        first, last = _period(start, end, runtime.clock.now())
    except ShiftsQueryError as exc:
        return Response(f"{exc}\n", status_code=422, media_type="text/plain")
    async with runtime.sessions() as session:
        schedules = await shifts.all_schedules(session)
        zones = {row.name: row.time_zone for row in await store.list_responders(session)}
    found = shifts.worked(schedules, first, last)
    name = f"shifts-{first:%Y-%m-%d}-to-{last - timedelta(days=1):%Y-%m-%d}.csv"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
    }
    return Response(
        shifts_csv(found, zones, runtime.settings), headers=headers, media_type="text/csv"
    )
