"""One rotation layer in a schedule's wall-clock time: the maths under
app/oncall/rotation.py (read its docstring for the DST rules).

:func:`resolve` turns a local wall time into an instant (a spring-forward gap
moves forward, a fall-back overlap takes the first occurrence). A
:class:`Rotation` is a :class:`~app.oncall.schedule_types.Layer` compiled
against its zone: the slot containing an instant is found by arithmetic, not by
walking the shifts since the anchor, and restriction windows clip the slots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.oncall.schedule_types import Layer, Restriction

_DAY = timedelta(days=1)
_ZERO = timedelta(0)


# --------------------------------------------------------------------------------------
# Wall-clock -> instant
# --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def resolve(tz: ZoneInfo, wall: datetime) -> datetime:
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


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"time_zone: unknown IANA time zone {name!r}") from exc


def utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return value.astimezone(UTC)


# --------------------------------------------------------------------------------------
# Compiled layers
# --------------------------------------------------------------------------------------

Segment = tuple[datetime, datetime, str]


@dataclass(frozen=True)
class Rotation:
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
            return resolve(self.tz, self.anchor_wall + m * self.length)
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
            resolve(self.tz, datetime.combine(day, r.start)),
            resolve(self.tz, datetime.combine(end_day, r.end)),
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

    def segments(self, a: datetime, b: datetime) -> list[Segment]:
        """The layer's shifts intersecting ``[a, b)``, clipped to it and to its windows."""
        a = max(a, self.anchor)
        if a >= b:
            return []
        if not self.restrictions:
            return self._slots(a, b)
        # Only walk the rotation inside the active windows: a restricted hourly layer
        # costs per window, not per hour of the range.
        clipped: list[Segment] = []
        for ws, we in self.windows(a, b):
            clipped.extend(self._slots(ws, we))
        return clipped

    def _slots(self, a: datetime, b: datetime) -> list[Segment]:
        """Rotation slots intersecting ``[a, b)``, clipped to it; requires ``a >= anchor``."""
        shifts: list[Segment] = []
        m = self.slot_index(a)
        start = self.slot_start(m)
        while start < b:
            end = self.slot_start(m + 1)
            if end > start:
                shifts.append((max(start, a), min(end, b), self.responder_for(m)))
            m += 1
            start = end
        return shifts


def compile_layer(layer: Layer, tz: ZoneInfo) -> Rotation:
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
    return Rotation(
        name=layer.name,
        participants=layer.participants,
        tz=tz,
        length=length,
        wall_clock=wall_clock,
        anchor_wall=anchor_wall,
        anchor=resolve(tz, anchor_wall),
        restrictions=layer.restrictions,
    )
