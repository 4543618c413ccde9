"""Occurrences of recurring windows keep their local wall-clock time across
daylight-saving changes; their UTC instants shift by the hour instead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.maintenance import windows
from app.maintenance.schemas import WindowSpec


def _weekly(zone: str, first: str) -> windows.Window:
    spec = WindowSpec(
        name="weekly",
        reason="patching",
        time_zone=zone,
        starts_at=first,
        rrule="FREQ=WEEKLY;BYDAY=SU",
        duration="2h",
        services=["db"],
    )
    return spec.to_window("weekly", 1)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekly_berlin_window_keeps_09_00_local_across_spring_and_autumn() -> None:
    window = _weekly("Europe/Berlin", "2026-01-04T09:00:00")
    spring = windows.occurrences(window, _utc(2026, 3, 20), _utc(2026, 4, 6))
    assert [o.start for o in spring] == [
        _utc(2026, 3, 22, 8),  # CET, +01:00
        _utc(2026, 3, 29, 7),  # the change is that night: CEST, +02:00
        _utc(2026, 4, 5, 7),
    ]
    autumn = windows.occurrences(window, _utc(2026, 10, 17), _utc(2026, 11, 2))
    assert [o.start for o in autumn] == [
        _utc(2026, 10, 18, 7),  # CEST
        _utc(2026, 10, 25, 8),  # the change is that night: CET again
        _utc(2026, 11, 1, 8),
    ]
    assert all(o.end - o.start == spring[0].end - spring[0].start for o in spring + autumn)
    assert spring[0].end == _utc(2026, 3, 22, 10)


def test_new_york_window_shifts_in_utc_on_its_own_change_dates() -> None:
    window = _weekly("America/New_York", "2026-03-01T09:00:00")
    around = windows.occurrences(window, _utc(2026, 3, 1), _utc(2026, 3, 16))
    assert [o.start for o in around] == [
        _utc(2026, 3, 1, 14),  # EST
        _utc(2026, 3, 8, 13),  # EDT from 8 March
        _utc(2026, 3, 15, 13),
    ]
    fall = windows.occurrences(window, _utc(2026, 10, 25), _utc(2026, 11, 9))
    assert [o.start for o in fall] == [
        _utc(2026, 10, 25, 13),
        _utc(2026, 11, 1, 14),
        _utc(2026, 11, 8, 14),
    ]


def test_active_and_next_occurrence() -> None:
    window = _weekly("Europe/Berlin", "2026-01-04T09:00:00")
    assert windows.active(window, _utc(2026, 3, 29, 7, 30)) is not None
    assert windows.active(window, _utc(2026, 3, 29, 9)) is None, "the end is excluded"
    upcoming = windows.next_occurrence(window, _utc(2026, 3, 29, 9))
    assert upcoming is not None and upcoming.start == _utc(2026, 4, 5, 7)


def test_a_start_in_the_spring_gap_is_read_with_the_offset_before_the_change() -> None:
    window = _weekly("Europe/Berlin", "2026-03-01T02:30:00")
    [gap] = windows.occurrences(window, _utc(2026, 3, 28), _utc(2026, 3, 30))
    assert gap.start == _utc(2026, 3, 29, 1, 30)  # 03:30 CEST: 02:30 does not exist


def test_until_in_utc_is_the_last_instant_an_occurrence_may_start() -> None:
    spec = WindowSpec.model_validate(
        {
            "name": "w",
            "reason": "r",
            "time_zone": "Europe/Berlin",
            "starts_at": "2026-01-01T09:00:00",
            "rrule": "RRULE:FREQ=DAILY;UNTIL=20260103T080000Z",
            "duration": "1h",
            "services": ["db"],
        }
    )
    found = windows.occurrences(spec.to_window("w"), _utc(2025, 12, 1), _utc(2026, 2, 1))
    assert [o.start for o in found] == [
        _utc(2026, 1, 1, 8),
        _utc(2026, 1, 2, 8),
        _utc(2026, 1, 3, 8),
    ]


def test_ended_window_has_no_occurrence_after_its_end() -> None:
    window = _weekly("UTC", "2026-01-04T09:00:00")
    ended = windows.Window(**{**window.__dict__, "ended_at": _utc(2026, 1, 11, 10)})
    found = windows.occurrences(ended, _utc(2026, 1, 1), _utc(2026, 2, 1))
    assert [(o.start, o.end) for o in found] == [
        (_utc(2026, 1, 4, 9), _utc(2026, 1, 4, 11)),
        (_utc(2026, 1, 11, 9), _utc(2026, 1, 11, 10)),
    ]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "not a valid RFC 5545 RRULE"),
        ({"time_zone": "Mars/Olympus"}, "unknown IANA time zone"),
        ({"duration": None}, "rrule and duration"),
        ({"services": []}, "needs matchers or services"),
        ({"matchers": ['instance=~"("']}, "invalid regular expression"),
        ({"duration": "30s"}, "greater than or equal to 60"),
        ({"rrule": "FREQ=SECONDLY"}, "FREQ must be one of DAILY"),
    ],
)
def test_bad_declarations_are_refused_naming_the_problem(
    changes: dict[str, object], says: str
) -> None:
    base: dict[str, object] = {
        "name": "w",
        "reason": "r",
        "starts_at": "2026-01-04T09:00:00Z",
        "rrule": "FREQ=DAILY",
        "duration": "1h",
        "services": ["db"],
    }
    with pytest.raises(ValueError, match=says):
        WindowSpec.model_validate({**base, **changes})
