"""When a maintenance window is active, and which alerts it covers: pure
functions of a window and an instant, no database.

A recurring window's occurrences start at the same wall-clock time in its
IANA time zone (an RFC 5545 RRULE expanded by ``python-dateutil`` on naive
local times), so "Sundays 02:00-04:00 Europe/Berlin" is 01:00 UTC in winter
and 00:00 UTC in summer. A local start that does not exist (inside a spring
gap) is read with the offset before the change, i.e. an hour later on the
wall, as RFC 5545 says for DTSTART in a gap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from app.models import MaintenanceWindow
from app.rules.matchers import Matcher, all_match, parse_matchers

#: How far ahead (and back) a recurrence is expanded at most in one call, and
#: how many occurrences at most: a rule is refused below daily-ish frequencies,
#: but BYHOUR/BYMINUTE lists can still multiply them.
MAX_SPAN = timedelta(days=400)
MAX_FOUND = 1000
#: Frequencies a maintenance window may recur at (a window every minute is a mistake).
#: (Expansion walks from the first start, so an hourly rule begun years ago
#: would cost a walk through every hour since.)
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")


@dataclass(frozen=True)
class Window:
    """What the functions here need of a window (a row or a declaration)."""

    id: int | None
    name: str
    reason: str
    time_zone: str
    starts_at: datetime  # aware
    ends_at: datetime | None  # one-off
    rrule: str | None  # recurring, with duration_seconds
    duration_seconds: int | None
    matchers: tuple[str, ...]
    services: tuple[str, ...]
    quiet_open_incidents: bool = False
    ended_at: datetime | None = None

    @classmethod
    def of(cls, row: MaintenanceWindow) -> Window:
        """From a ``maintenance_windows`` row."""
        return cls(
            id=row.id,
            name=row.name,
            reason=row.reason,
            time_zone=row.time_zone,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            rrule=row.rrule,
            duration_seconds=row.duration_seconds,
            matchers=tuple(row.matchers),
            services=tuple(row.services),
            quiet_open_incidents=bool(row.quiet_open_incidents),
            ended_at=row.ended_at,
        )


@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime


_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.IGNORECASE)


def parse_rule(text: str, dtstart: datetime, zone: ZoneInfo) -> rrule:
    """An RRULE (with or without its ``RRULE:`` prefix) on a naive local start in
    ``zone``; ValueError naming what is wrong. An UNTIL in UTC (``...Z``) is
    read as that instant in the zone's wall time."""
    body = _UNTIL_UTC.sub(lambda m: "UNTIL=" + _wall(m.group(1), zone), text.strip())
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "\n" in body or body.upper().startswith(("DTSTART", "EXDATE", "RDATE")):
        raise ValueError("rrule must be one RFC 5545 RRULE, like FREQ=WEEKLY;BYDAY=SU")
    freq = next((p[5:].upper() for p in body.split(";") if p.upper().startswith("FREQ=")), "")
    if freq not in FREQUENCIES:
        raise ValueError(f"rrule FREQ must be one of {', '.join(FREQUENCIES)}, not {freq!r}")
    try:
        rule = rrulestr(body, dtstart=dtstart)
        if not isinstance(rule, rrule):  # pragma: no cover - one RRULE gives an rrule
            raise ValueError("not a single RRULE")
        rule.after(dtstart, inc=True)  # a rule that cannot even start fails here
    except Exception as exc:  # whatever the parser trips on, the rule is what is wrong
        raise ValueError(f"rrule {text!r} is not a valid RFC 5545 RRULE: {exc}") from None
    return rule


def _wall(utc_stamp: str, zone: ZoneInfo) -> str:
    instant = datetime.strptime(utc_stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return instant.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def local_start(window: Window) -> datetime:
    """The window's first start as naive wall time in its zone."""
    return window.starts_at.astimezone(ZoneInfo(window.time_zone)).replace(tzinfo=None)


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def occurrences(window: Window, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences that overlap ``[start, end)``, in order, cut at ``ended_at``."""
    found: list[Occurrence] = []
    if window.rrule is None:
        if window.ends_at is not None:
            found = [Occurrence(window.starts_at, window.ends_at)]
    else:
        zone = ZoneInfo(window.time_zone)
        duration = timedelta(seconds=window.duration_seconds or 0)
        rule = parse_rule(window.rrule, local_start(window), zone)
        # Local bounds with a day's margin for any offset; filtered in UTC below.
        margin = timedelta(days=1) + duration
        low = max(start - margin, end - MAX_SPAN).astimezone(zone).replace(tzinfo=None)
        high = (end + timedelta(days=1)).astimezone(zone).replace(tzinfo=None)
        walls = rule.xafter(low, inc=True)
        while len(found) < MAX_FOUND:
            try:
                wall = next(walls, None)
            except (ValueError, OverflowError):  # past the calendar's end
                break
            if wall is None or wall > high:
                break
            begin = _to_utc(wall, zone)
            found.append(Occurrence(begin, begin + duration))
    if window.ended_at is not None:
        cut = window.ended_at
        found = [Occurrence(o.start, min(o.end, cut)) for o in found if o.start < cut]
    return [o for o in found if o.start < end and o.end > start and o.end > o.start]


def active(window: Window, at: datetime) -> Occurrence | None:
    """The occurrence in force at ``at`` (start included, end excluded)."""
    for occurrence in occurrences(window, at, at + timedelta(microseconds=1)):
        if occurrence.start <= at < occurrence.end:
            return occurrence
    return None


def next_occurrence(window: Window, after: datetime) -> Occurrence | None:
    """The first occurrence that ends after ``after`` (the current one included)."""
    for occurrence in occurrences(window, after, after + MAX_SPAN):
        return occurrence
    return None


def matchers_of(window: Window) -> list[Matcher]:
    parsed: list[Matcher] = []
    for text in window.matchers:
        parsed += parse_matchers(text)
    return parsed


def covers(window: Window, labels: Mapping[str, str], service: str | None) -> bool:
    """Whether the window's scope takes in an alert: every matcher matches its
    labels and, if the window names services, its service is one of them."""
    if window.services and service not in window.services:
        return False
    return all_match(matchers_of(window), labels)


def describe_until(when: datetime, now: datetime) -> str:
    """``15:00 UTC`` on the same (UTC) day as ``now``, else ``2026-12-02 15:00 UTC``."""
    when, now = when.astimezone(UTC), now.astimezone(UTC)
    return f"{when:%H:%M} UTC" if when.date() == now.date() else f"{when:%Y-%m-%d %H:%M} UTC"
