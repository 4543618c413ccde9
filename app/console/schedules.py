"""The schedules pages: a week or month calendar per schedule, in the viewer's
time zone, and "take this shift" in two taps (the calendar's Take link, then
the confirm page's button).

Taking a shift adds an override for the signed-in responder, exactly as the
API's ``write`` scope may (``POST /api/v1/schedules/{name}/overrides``),
recorded with its actor (``<name> via console``). A console session acts only
as its own responder, so it may take a shift for itself and for nobody else.
The confirm page shows the playbook's 7-day warning when the shift would keep
the viewer on call longer than that (app/oncall/store.py ``stretch_warnings``);
the calendar shows the schedule's current warnings.

The viewer's time zone: the ``tz`` field of the page's form (kept in a cookie),
else the responder's own zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.console import calendar_view, shifts
from app.console.access import SignedIn
from app.console.web import (
    Viewer,
    error_page,
    first,
    form_of,
    not_found,
    redirect,
    render,
    runtime_of,
    set_cookie,
)
from app.errors import NotFound
from app.oncall import rotation, store
from app.oncall.schemas import OverrideSpec
from app.runtime import Runtime
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)

ZONE_COOKIE = "klaxon_tz"
MAX_TAKE = timedelta(days=31)
NOTICES = {"taken": "Shift taken: you are on call for it (an override in your name)."}


def viewer_zone(request: Request, viewer: Viewer, asked: str) -> tuple[ZoneInfo, bool]:
    """The zone to draw in, and whether ``asked`` (a valid zone) should be kept."""
    for candidate, keep in ((asked, True), (request.cookies.get(ZONE_COOKIE, ""), False)):
        if candidate:
            try:
                return ZoneInfo(candidate[:64]), keep
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return viewer.zone, False


def _first_day(view: str, start: str, today: date) -> date:
    try:
        day = date.fromisoformat(start) if start else today
    except ValueError:
        day = today
    if view == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())  # Monday


def _month_days(first_day: date) -> int:
    following = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - first_day).days


def _not_found(request: Request, viewer: Viewer, name: str) -> HTMLResponse:
    return not_found(request, viewer, f"schedule {name!r}")


@router.get("/schedules", response_class=HTMLResponse)
async def schedules_page(request: Request, viewer: SignedIn) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    async with runtime.sessions() as session:
        current = await store.oncall_everywhere(session, now)
    return render(request, "schedules.html", viewer=viewer, current=current, now=now)


@router.get("/schedules/{name}", response_class=HTMLResponse)
async def schedule_page(
    request: Request,
    name: str,
    viewer: SignedIn,
    view: str = "week",
    start: str = "",
    tz: str = "",
    notice: str = "",
) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    zone, keep = viewer_zone(request, viewer, tz)
    view = "month" if view == "month" else "week"
    first_day = _first_day(view, start, now.astimezone(zone).date())
    count = _month_days(first_day) if view == "month" else 7
    async with runtime.sessions() as session:
        schedule = await store.load_schedule(session, name)
    if schedule is None:
        return _not_found(request, viewer, name)
    days = calendar_view.build_days(schedule, first_day, count, zone)
    step = timedelta(days=count if view == "week" else 1)
    previous = (first_day - step).replace(day=1) if view == "month" else first_day - step
    following = first_day + timedelta(days=count)
    response = render(
        request,
        "schedule.html",
        viewer=viewer,
        name=name,
        schedule=schedule,
        days=days,
        view=view,
        zone=zone.key,
        first_day=first_day,
        previous=previous,
        following=following,
        now=now,
        warnings=store.stretch_warnings(schedule, now),
        ticks={d.day: calendar_view.hour_ticks(d, zone) for d in days},
        width=calendar_view.WIDTH,
        row_height=calendar_view.ROW_HEIGHT,
        take_url=lambda s: _take_url(name, s),
        hhmm=lambda at: at.astimezone(zone).strftime("%H:%M"),
        notice=NOTICES.get(notice),
    )
    if keep:
        set_cookie(response, runtime, ZONE_COOKIE, zone.key, 365 * 24 * 3600)
    return response


def _take_url(name: str, shift: rotation.Shift) -> str:
    return (
        f"/schedules/{quote(name, safe='')}/take?start={quote(shift.start.isoformat())}"
        f"&end={quote(shift.end.isoformat())}"
    )


class TakeError(ValueError):
    """A shift that cannot be taken, and why (shown on the page, a 422)."""


def _cannot(request: Request, viewer: Viewer, exc: TakeError) -> HTMLResponse:
    return error_page(request, viewer, 422, "Cannot take", str(exc))


def _window(start: str, end: str, now: datetime) -> tuple[datetime, datetime]:
    try:
        begins, ends = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        raise TakeError("The shift's start or end is not a time.") from None
    if begins.tzinfo is None or ends.tzinfo is None:
        raise TakeError("The shift's start and end need a UTC offset.")
    begins, ends = max(begins.astimezone(UTC), now), ends.astimezone(UTC)
    if ends <= begins:
        raise TakeError("That shift is over: there is nothing left of it to take.")
    if ends - begins > MAX_TAKE:
        raise TakeError("A shift taken here is at most 31 days long.")
    return begins, ends


def _warnings_if_taken(
    schedule: rotation.Schedule, viewer: Viewer, begins: datetime, ends: datetime
) -> list[str]:
    """The viewer's 7-day warnings on this schedule once the shift is theirs."""
    taken = rotation.Override(start=begins, end=ends, responder=viewer.name)
    after = rotation.Schedule(
        schedule.name, schedule.time_zone, schedule.layers, (*schedule.overrides, taken)
    )
    found = store.stretch_warnings(after, begins - timedelta(days=8), ends + timedelta(days=8))
    return [w for w in found if w.startswith(f"{viewer.name} ")]


@router.get("/schedules/{name}/take", response_class=HTMLResponse)
async def take_page(
    request: Request, name: str, viewer: SignedIn, start: str = "", end: str = ""
) -> Response:
    """Tap one: what taking this shift means, with a button to confirm."""
    runtime = runtime_of(request)
    now = runtime.clock.now()
    async with runtime.sessions() as session:
        schedule = await store.load_schedule(session, name)
    if schedule is None:
        return _not_found(request, viewer, name)
    try:
        begins, ends = _window(start, end, now)
    except TakeError as exc:
        return _cannot(request, viewer, exc)
    covering = rotation.render_shifts(schedule, begins, ends)
    return render(
        request,
        "take.html",
        viewer=viewer,
        name=name,
        begins=begins,
        ends=ends,
        covering=covering,
        warnings=_warnings_if_taken(schedule, viewer, begins, ends),
    )


@router.post("/schedules/{name}/take", response_class=HTMLResponse)
async def take_shift(request: Request, name: str, viewer: SignedIn) -> Response:
    """Tap two: the override, in the viewer's name, recorded with them as actor."""
    fields = await form_of(request, viewer)
    runtime = runtime_of(request)
    now = runtime.clock.now()
    try:
        begins, ends = _window(first(fields, "start"), first(fields, "end"), now)
    except TakeError as exc:
        return _cannot(request, viewer, exc)
    spec = OverrideSpec(start=begins, end=ends, responder=viewer.name)
    try:
        async with unit_of_work(runtime) as uow:
            session = uow.session
            await store.add_override(session, name, spec, now=now, by=f"{viewer.name} via console")
            uow.wake()
    except NotFound:
        return _not_found(request, viewer, name)
    local_day = begins.astimezone(viewer_zone(request, viewer, "")[0]).date()
    return redirect(f"/schedules/{quote(name, safe='')}?start={local_day.isoformat()}&notice=taken")


#: How far ahead "my shifts" looks on the on-call page.
MY_SHIFTS_DAYS = 28
MY_SHIFTS_SHOWN = 20


async def my_shifts(runtime: Runtime, responder: str, now: datetime) -> list[shifts.Worked]:
    """The responder's shifts across every schedule, now and over the next
    :data:`MY_SHIFTS_DAYS` days (the on-call page's "my shifts")."""
    async with runtime.sessions() as session:
        schedules = await shifts.all_schedules(session, ending_after=now)
    found = shifts.worked(schedules, now, now + timedelta(days=MY_SHIFTS_DAYS), responder=responder)
    return found[:MY_SHIFTS_SHOWN]
