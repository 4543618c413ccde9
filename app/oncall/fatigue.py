"""Fatigue warnings: anyone on call without a break for longer than the playbook
allows (7 days).

Computed from the rendered shifts (app/oncall/rotation.py), never stored: a
saved schedule answers with its warnings for the next :data:`WARNING_HORIZON`,
a shifts range with those inside it, and ``klaxon apply`` prints them. A
warning does not refuse the schedule; people swap shifts by override.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from app import durations
from app.oncall import rotation
from app.oncall.layers import zone
from app.oncall.schedule_types import Shift

#: How far ahead a saved schedule is checked for over-long on-call stretches.
WARNING_HORIZON = timedelta(weeks=8)
#: The playbook's limit on unbroken on-call time.
CONSECUTIVE_LIMIT = timedelta(days=7)


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
    tz = zone(time_zone) if time_zone is not None else None
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


def stretch_warnings(
    schedule: rotation.Schedule, start: datetime, end: datetime | None = None
) -> list[str]:
    """Everyone on call without a break for longer than the playbook's 7 days within
    ``[start, end)`` (default: :data:`WARNING_HORIZON` from ``start``), measured in
    the schedule's wall-clock time."""
    shifts = rotation.render_shifts(schedule, start, end or start + WARNING_HORIZON)
    return consecutive_oncall_warnings(shifts, CONSECUTIVE_LIMIT, time_zone=schedule.time_zone)
