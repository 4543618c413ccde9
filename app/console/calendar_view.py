"""A schedule drawn as days: what the schedules page renders, computed here so it
is plain data (tested without a browser) and the template only lays it out.

Each day, in the *viewer's* time zone (a 23- or 25-hour day on a DST change is
drawn as such), has one row per rotation layer, one for overrides and one for
the result (who is actually paged). A layer's row shows its own rotation; where
restrictions switch a layer off, the rotation it would have had is drawn as
"outside its window", so restrictions are visible as the gaps they cut.
Positions are per mille of the day, for an SVG ``viewBox`` of 1000 wide: no
inline style is needed (the Content-Security-Policy forbids it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.oncall import rotation

WIDTH = 1000
ROW_HEIGHT = 24


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    responder: str
    kind: str  # "layer", "outside", "override", "oncall-layer", "oncall-override"
    start: datetime
    end: datetime
    label: str


@dataclass
class Row:
    label: str
    kind: str  # "layer", "overrides", "oncall"
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Day:
    day: date
    start: datetime
    end: datetime
    rows: list[Row]
    shifts: list[rotation.Shift]  # who is paged, clipped to the day

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.rows)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, as UTC instants."""
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _bar(
    start: datetime, end: datetime, day: tuple[datetime, datetime], who: str, kind: str, label: str
) -> Bar:
    span = (day[1] - day[0]).total_seconds()
    x = (start - day[0]).total_seconds() / span * WIDTH
    width = (end - start).total_seconds() / span * WIDTH
    return Bar(round(x, 2), round(width, 2), who, kind, start, end, label)


def _layer_row(schedule: rotation.Schedule, index: int, bounds: tuple[datetime, datetime]) -> Row:
    layer = schedule.layers[index]
    alone = replace(schedule, layers=(layer,), overrides=())
    row = Row(label=layer.name, kind="layer")
    if layer.restrictions:
        free = replace(alone, layers=(replace(layer, restrictions=()),))
        for s in rotation.render_shifts(free, *bounds):
            row.bars.append(_bar(s.start, s.end, bounds, s.responder, "outside", layer.name))
    for s in rotation.render_shifts(alone, *bounds):
        row.bars.append(_bar(s.start, s.end, bounds, s.responder, "layer", layer.name))
    return row


def build_days(schedule: rotation.Schedule, first: date, count: int, zone: ZoneInfo) -> list[Day]:
    """``count`` days of ``schedule`` from ``first``, in ``zone``."""
    days: list[Day] = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        bounds = day_bounds(day, zone)
        rows = [_layer_row(schedule, i, bounds) for i in range(len(schedule.layers))]
        overrides = Row(label="overrides", kind="overrides")
        for o in schedule.overrides:
            start, end = max(o.start, bounds[0]), min(o.end, bounds[1])
            if start < end:
                overrides.bars.append(_bar(start, end, bounds, o.responder, "override", "override"))
        rows.append(overrides)
        shifts = rotation.render_shifts(schedule, *bounds)
        result = Row(label="on call", kind="oncall")
        for s in shifts:
            kind = "oncall-override" if s.source == rotation.OVERRIDE_SOURCE else "oncall-layer"
            result.bars.append(_bar(s.start, s.end, bounds, s.responder, kind, s.source))
        rows.append(result)
        days.append(Day(day, bounds[0], bounds[1], rows, shifts))
    return days


def hour_ticks(day: Day, zone: ZoneInfo) -> list[tuple[float, str]]:
    """Gridlines at local 06:00, 12:00 and 18:00 (placed by real time, so a DST
    day's hours stretch or shrink honestly)."""
    ticks: list[tuple[float, str]] = []
    for hour in (6, 12, 18):
        at = datetime.combine(day.day, time(hour), zone).astimezone(UTC)
        span = (day.end - day.start).total_seconds()
        ticks.append((round((at - day.start).total_seconds() / span * WIDTH, 2), f"{hour:02d}"))
    return ticks
