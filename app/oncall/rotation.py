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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from app.oncall.layers import Rotation, Segment, compile_layer, utc, zone
from app.oncall.schedule_types import (
    HORIZON,
    OVERRIDE_SOURCE,
    Layer,
    OnCall,
    Override,
    Restriction,
    Schedule,
    Shift,
)

__all__ = [
    "HORIZON",
    "OVERRIDE_SOURCE",
    "Layer",
    "OnCall",
    "Override",
    "Restriction",
    "Schedule",
    "Shift",
    "render_shifts",
    "validate_schedule",
    "who_is_on_call",
]

_ZERO = timedelta(0)


@dataclass(frozen=True)
class _Compiled:
    layers: tuple[Rotation, ...]
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
        tracks: list[tuple[str, list[Segment]]] = [
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
        layers=tuple(compile_layer(layer, tz) for layer in schedule.layers),
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
    zone(schedule.time_zone)
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
    t = utc(at, "at")
    responder, source = compiled.lookup(t)
    return OnCall(responder=responder, until=compiled.next_change(t, responder), source=source)


def render_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The effective on-call timeline over ``[start, end)``.

    Overrides win over layers and higher layers over lower ones; segments are clipped to the
    range, adjacent segments with the same responder and source are merged, and stretches
    where nobody is on call are omitted.
    """
    compiled = _compile(schedule)
    return compiled.render(utc(start, "start"), utc(end, "end"))
