"""Pure on-call computation: who is on call at an instant is *computed*, never stored.

A :class:`Schedule` lives in one IANA time zone and stacks rotation :class:`Layer` objects
(index 0 lowest, later layers win wherever they have someone) under a set of
:class:`Override` windows (which win over every layer; among overlapping overrides the later
one in the tuple wins).

Time semantics (DST)
--------------------
Shifts are defined in the schedule's *wall-clock* time whenever that is meaningful:

* Shift lengths that are a whole number of days (daily, weekly, two-weekly, ...) hand over
  at the handoff wall time on the right local calendar day.  A daily 09:00
  America/New_York rotation hands over at 09:00 local every day, so the shift that spans
  spring-forward lasts 23 h and the one spanning fall-back lasts 25 h.
* Shift lengths shorter than a day that divide 24 h exactly (12 h, 8 h, 6 h, 1 h, 30 min,
  ...) also step in wall-clock time: 12 h shifts handing over at 09:00 keep handing over at
  09:00 and 21:00 local, so the shift spanning a DST change is 11 h or 13 h long.  The
  rotation index counts wall-clock slots; a slot that falls entirely inside a
  spring-forward gap (only possible for lengths no longer than the gap) has zero length and
  is skipped, but still consumes its turn.
* Any other length (10 h, 36 h, 1 day 1 hour, ...) has no stable wall-clock pattern, so it
  counts real elapsed time from the layer's anchor instant.

Local wall times are turned into instants with two rules:

* nonexistent times (in a spring-forward gap) move forward to the first valid instant,
  i.e. the transition itself: 02:30 in Europe/Berlin on 2026-03-29 becomes 03:00 CEST;
* ambiguous times (in a fall-back overlap) use the first occurrence (``fold=0``):
  02:30 in Europe/Berlin on 2026-10-25 is 02:30 CEST (00:30 UTC).

The same rules apply to restriction windows, which are also defined in local wall time.

Rotation anchor
---------------
``Layer.start`` (aware, or naive meaning schedule-local wall time) anchors the rotation.
``Layer.handoff`` defaults to the start's local wall time.  The first handoff -- where
``participants[0]`` begins -- is the first handoff point at or after ``start`` (for
sub-daily wall-clock lengths, handoff points are ``handoff + k * shift_length`` each day; for
all other lengths, ``handoff`` on a local calendar day).  The layer has nobody before its
first handoff.  Restrictions clip the layer's shifts to their windows without pausing the
rotation: outside every window the layer has nobody and lower layers show through.

Efficiency
----------
The rotation index for an instant is computed arithmetically (wall-clock distance from the
anchor divided by the shift length, corrected by at most a step for DST), so answering
"who is on call at t" never iterates over the shifts since the anchor.  Rendering a range
costs time proportional to the number of handoffs and windows inside it.

All returned datetimes are aware and in UTC.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app import durations

__all__ = [
    "HORIZON",
    "OVERRIDE_SOURCE",
    "Layer",
    "OnCall",
    "Override",
    "Restriction",
    "Schedule",
    "Shift",
    "consecutive_oncall_warnings",
    "render_shifts",
    "validate_schedule",
    "who_is_on_call",
]

#: How far ahead :func:`who_is_on_call` looks for the next change before reporting ``None``.
HORIZON = timedelta(days=366)
#: ``Shift.source`` / ``OnCall.source`` value for override segments.
OVERRIDE_SOURCE = "override"

_DAY = timedelta(days=1)
_ZERO = timedelta(0)


@dataclass(frozen=True)
class Restriction:
    """An active window in the schedule's local time.

    ``days`` are ISO weekday numbers (1=Mon..7=Sun) the window *starts* on.  ``end <= start``
    means the window runs past midnight into the next day (``end == start``: a full day).
    """

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Layer:
    name: str
    participants: tuple[str, ...]
    shift_length: timedelta
    start: datetime
    handoff: time | None = None
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class Override:
    start: datetime
    end: datetime
    responder: str


@dataclass(frozen=True)
class Schedule:
    name: str
    time_zone: str
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Shift:
    responder: str
    start: datetime
    end: datetime
    source: str


@dataclass(frozen=True)
class OnCall:
    responder: str | None
    until: datetime | None
    source: str | None


# --------------------------------------------------------------------------------------
# Wall-clock -> instant
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _resolve(tz: ZoneInfo, wall: datetime) -> datetime:
    """Turn a naive local wall time into an aware UTC instant.

    Ambiguous times use the first occurrence; nonexistent times move forward to the
    transition instant (the first valid instant after the gap).
    """
    if wall.fold:
        wall = wall.replace(fold=0)
    # ZoneInfo.utcoffset reads a naive datetime as local wall time: fold=0 gives the offset
    # in force before a transition, fold=1 the one after.  They differ only near a change.
    before = tz.utcoffset(wall)
    after = tz.utcoffset(wall.replace(fold=1))
    if before is None or after is None:  # pragma: no cover - ZoneInfo always has an offset
        raise ValueError(f"time zone {tz.key!r} has no UTC offset at {wall}")
    if before >= after:  # unambiguous (equal) or a fall-back overlap: first occurrence
        return (wall - before).replace(tzinfo=UTC)
    # A spring-forward gap: the transition happens at a whole POSIX second between the
    # instant this wall time would have under the post-transition offset and under the
    # pre-transition one.  Bisect for it.
    lo = math.floor((wall - after).replace(tzinfo=UTC).timestamp())
    hi = math.ceil((wall - before).replace(tzinfo=UTC).timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"time_zone: unknown IANA time zone {name!r}") from exc


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------
# Compiled layers
# --------------------------------------------------------------------------------------

_Segment = tuple[datetime, datetime, str]


@dataclass(frozen=True)
class _Rotation:
    name: str
    participants: tuple[str, ...]
    tz: ZoneInfo
    length: timedelta
    wall_clock: bool
    anchor_wall: datetime  # naive local wall time of the first handoff
    anchor: datetime  # UTC instant of the first handoff
    restrictions: tuple[Restriction, ...]

    # -- rotation -------------------------------------------------------------------

    def slot_start(self, m: int) -> datetime:
        if self.wall_clock:
            return _resolve(self.tz, self.anchor_wall + m * self.length)
        return self.anchor + m * self.length

    def slot_index(self, t: datetime) -> int:
        """Index of the (non-empty) slot containing ``t``; requires ``t >= anchor``."""
        if not self.wall_clock:
            return (t - self.anchor) // self.length
        local = t.astimezone(self.tz).replace(tzinfo=None, fold=0)
        m = (local - self.anchor_wall) // self.length
        while self.slot_start(m) > t:
            m -= 1
        while self.slot_start(m + 1) <= t:
            m += 1
        return m

    def responder_for(self, m: int) -> str:
        return self.participants[m % len(self.participants)]

    # -- restrictions ---------------------------------------------------------------

    def _window(self, day: date, r: Restriction) -> tuple[datetime, datetime]:
        end_day = day if r.end > r.start else day + _DAY
        return (
            _resolve(self.tz, datetime.combine(day, r.start)),
            _resolve(self.tz, datetime.combine(end_day, r.end)),
        )

    def in_window(self, t: datetime) -> bool:
        today = t.astimezone(self.tz).date()
        for day in (today - _DAY, today):
            weekday = day.isoweekday()
            for r in self.restrictions:
                if weekday in r.days:
                    ws, we = self._window(day, r)
                    if ws <= t < we:
                        return True
        return False

    def windows(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """Merged active windows intersecting ``[a, b)``, clipped to it."""
        found: list[tuple[datetime, datetime]] = []
        day = a.astimezone(self.tz).date() - _DAY
        last = b.astimezone(self.tz).date()
        while day <= last:
            weekday = day.isoweekday()
            for r in self.restrictions:
                if weekday in r.days:
                    ws, we = self._window(day, r)
                    if ws < b and we > a and we > ws:
                        found.append((max(ws, a), min(we, b)))
            day += _DAY
        found.sort()
        merged: list[tuple[datetime, datetime]] = []
        for ws, we in found:
            if merged and ws <= merged[-1][1]:
                if we > merged[-1][1]:
                    merged[-1] = (merged[-1][0], we)
            else:
                merged.append((ws, we))
        return merged

    # -- queries --------------------------------------------------------------------

    def responder_at(self, t: datetime) -> str | None:
        if t < self.anchor:
            return None
        if self.restrictions and not self.in_window(t):
            return None
        return self.responder_for(self.slot_index(t))

    def segments(self, a: datetime, b: datetime) -> list[_Segment]:
        """The layer's shifts intersecting ``[a, b)``, clipped to it and to its windows."""
        a = max(a, self.anchor)
        if a >= b:
            return []
        if not self.restrictions:
            return self._slots(a, b)
        # Only walk the rotation inside the active windows: a restricted hourly layer
        # costs per window, not per hour of the range.
        clipped: list[_Segment] = []
        for ws, we in self.windows(a, b):
            clipped.extend(self._slots(ws, we))
        return clipped

    def _slots(self, a: datetime, b: datetime) -> list[_Segment]:
        """Rotation slots intersecting ``[a, b)``, clipped to it; requires ``a >= anchor``."""
        shifts: list[_Segment] = []
        m = self.slot_index(a)
        start = self.slot_start(m)
        while start < b:
            end = self.slot_start(m + 1)
            if end > start:
                shifts.append((max(start, a), min(end, b), self.responder_for(m)))
            m += 1
            start = end
        return shifts


def _compile_layer(layer: Layer, tz: ZoneInfo) -> _Rotation:
    if layer.start.tzinfo is None or layer.start.utcoffset() is None:
        start_wall = layer.start.replace(tzinfo=None, fold=0)
    else:
        start_wall = layer.start.astimezone(tz).replace(tzinfo=None, fold=0)
    handoff = layer.handoff if layer.handoff is not None else start_wall.time()
    length = layer.shift_length
    wall_clock = length % _DAY == _ZERO or _DAY % length == _ZERO
    grid = length if wall_clock and length < _DAY else _DAY
    base = datetime.combine(start_wall.date(), handoff.replace(tzinfo=None))
    anchor_wall = base - ((base - start_wall) // grid) * grid  # first grid point >= start
    return _Rotation(
        name=layer.name,
        participants=layer.participants,
        tz=tz,
        length=length,
        wall_clock=wall_clock,
        anchor_wall=anchor_wall,
        anchor=_resolve(tz, anchor_wall),
        restrictions=layer.restrictions,
    )


@dataclass(frozen=True)
class _Compiled:
    layers: tuple[_Rotation, ...]
    overrides: tuple[tuple[datetime, datetime, str], ...]  # UTC

    def lookup(self, t: datetime) -> tuple[str | None, str | None]:
        for start, end, who in reversed(self.overrides):
            if start <= t < end:
                return who, OVERRIDE_SOURCE
        for layer in reversed(self.layers):
            who_or_none = layer.responder_at(t)
            if who_or_none is not None:
                return who_or_none, layer.name
        return None, None

    def render(self, a: datetime, b: datetime) -> list[Shift]:
        if b <= a:
            return []
        # Tracks in priority order, lowest first; each is sorted and non-overlapping.
        tracks: list[tuple[str, list[_Segment]]] = [
            (layer.name, layer.segments(a, b)) for layer in self.layers
        ]
        tracks.extend(
            (OVERRIDE_SOURCE, [(max(start, a), min(end, b), who)])
            for start, end, who in self.overrides
            if start < b and end > a
        )
        points = {a, b}
        for _, segs in tracks:
            for s, e, _who in segs:
                points.add(s)
                points.add(e)
        cursor = [0] * len(tracks)
        out: list[tuple[datetime, datetime, str, str]] = []  # start, end, who, source
        for p, q in pairwise(sorted(points)):
            chosen: tuple[str, str] | None = None
            for i in range(len(tracks) - 1, -1, -1):
                source, segs = tracks[i]
                j = cursor[i]
                while j < len(segs) and segs[j][1] <= p:
                    j += 1
                cursor[i] = j
                if j < len(segs) and segs[j][0] <= p:
                    chosen = (segs[j][2], source)
                    break
            if chosen is None:
                continue
            who, source = chosen
            prev = out[-1] if out else None
            if prev is not None and prev[1] == p and prev[2] == who and prev[3] == source:
                out[-1] = (prev[0], q, who, source)
            else:
                out.append((p, q, who, source))
        return [Shift(who, start, end, source) for start, end, who, source in out]

    def next_change(self, t: datetime, responder: str | None) -> datetime | None:
        limit = t + HORIZON
        span = timedelta(days=2)
        while True:
            end = min(t + span, limit)
            shifts = self.render(t, end)
            if responder is None:
                if shifts:
                    return shifts[0].start
            elif shifts and shifts[0].end < end:
                return shifts[0].end
            if end >= limit:
                return None
            span *= 4


def _compile(schedule: Schedule) -> _Compiled:
    validate_schedule(schedule)
    tz = ZoneInfo(schedule.time_zone)
    return _Compiled(
        layers=tuple(_compile_layer(layer, tz) for layer in schedule.layers),
        overrides=tuple(
            (o.start.astimezone(UTC), o.end.astimezone(UTC), o.responder)
            for o in schedule.overrides
        ),
    )


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def validate_schedule(schedule: Schedule) -> None:
    """Raise ``ValueError`` naming the offending field if ``schedule`` is unusable."""
    _zone(schedule.time_zone)
    for i, layer in enumerate(schedule.layers):
        where = f"layers[{i}] ({layer.name!r})"
        if not layer.name:
            raise ValueError(f"layers[{i}].name must not be empty")
        if not layer.participants:
            raise ValueError(f"{where}.participants must not be empty")
        for k, who in enumerate(layer.participants):
            if not who:
                raise ValueError(f"{where}.participants[{k}] must be a non-empty name")
        if layer.shift_length <= _ZERO:
            raise ValueError(f"{where}.shift_length must be positive, got {layer.shift_length!r}")
        if layer.handoff is not None and layer.handoff.tzinfo is not None:
            raise ValueError(f"{where}.handoff must be a naive local wall-clock time")
        for k, r in enumerate(layer.restrictions):
            rwhere = f"{where}.restrictions[{k}]"
            if not r.days:
                raise ValueError(f"{rwhere}.days must not be empty")
            bad = sorted(d for d in r.days if not (isinstance(d, int) and 1 <= d <= 7))
            if bad:
                raise ValueError(f"{rwhere}.days must be ISO weekdays 1..7, got {bad!r}")
            if r.start.tzinfo is not None or r.end.tzinfo is not None:
                raise ValueError(f"{rwhere}.start/end must be naive local wall-clock times")
    for i, o in enumerate(schedule.overrides):
        where = f"overrides[{i}]"
        if o.start.tzinfo is None or o.start.utcoffset() is None:
            raise ValueError(f"{where}.start must be a timezone-aware datetime")
        if o.end.tzinfo is None or o.end.utcoffset() is None:
            raise ValueError(f"{where}.end must be a timezone-aware datetime")
        if o.end <= o.start:
            raise ValueError(f"{where}.end must be after {where}.start")
        if not o.responder:
            raise ValueError(f"{where}.responder must not be empty")


def who_is_on_call(schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call at the aware instant ``at``, and until when that answer holds.

    ``until`` is the end of the merged segment containing ``at`` in :func:`render_shifts`
    (or, if nobody is on call, when somebody next is); ``None`` if the answer does not change
    within :data:`HORIZON`.
    """
    compiled = _compile(schedule)
    t = _utc(at, "at")
    responder, source = compiled.lookup(t)
    return OnCall(responder=responder, until=compiled.next_change(t, responder), source=source)


def render_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The effective on-call timeline over ``[start, end)``.

    Overrides win over layers and higher layers over lower ones; segments are clipped to the
    range, adjacent segments with the same responder and source are merged, and stretches
    where nobody is on call are omitted.
    """
    compiled = _compile(schedule)
    return compiled.render(_utc(start, "start"), _utc(end, "end"))


def _format_instant(dt: datetime) -> str:
    return f"{dt.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def consecutive_oncall_warnings(
    shifts: list[Shift],
    limit: timedelta = timedelta(days=7),
    *,
    time_zone: str | None = None,
) -> list[str]:
    """Warn about everyone on call without a break for longer than ``limit``.

    Touching or overlapping shifts of the same responder merge into one stretch regardless
    of their source.  Stretch length is real elapsed time by default; pass the schedule's
    ``time_zone`` to measure it in local wall-clock time instead, so that an ordinary weekly
    shift spanning a fall-back change (7 days + 1 hour elapsed) is not flagged.
    """
    tz = _zone(time_zone) if time_zone is not None else None
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for s in shifts:
        spans[s.responder].append((s.start, s.end))
    stretches: list[tuple[datetime, datetime, str]] = []
    for who, items in spans.items():
        items.sort()
        cur_start, cur_end = items[0]
        for start, end in items[1:]:
            if start <= cur_end:
                cur_end = max(cur_end, end)
            else:
                stretches.append((cur_start, cur_end, who))
                cur_start, cur_end = start, end
        stretches.append((cur_start, cur_end, who))
    stretches.sort()
    warnings: list[str] = []
    for start, end, who in stretches:
        if tz is None:
            length = end - start
        else:
            length = end.astimezone(tz).replace(tzinfo=None) - start.astimezone(tz).replace(
                tzinfo=None
            )
        if length > limit:
            warnings.append(
                f"{who} is on call for {durations.in_words(length)} without a break"
                f" from {_format_instant(start)} to {_format_instant(end)}"
                f" (limit {durations.in_words(limit)})"
            )
    return warnings
