"""The values of the pure on-call computation (app/oncall/rotation.py): what a
schedule is made of (layers, restrictions, overrides) and what it answers
(shifts, who is on call). Frozen, so a compiled schedule can be cached and shared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

#: How far ahead :func:`who_is_on_call` looks for the next change before reporting ``None``.
HORIZON = timedelta(days=366)
#: ``Shift.source`` / ``OnCall.source`` value for override segments.
OVERRIDE_SOURCE = "override"


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
