"""The calendar's arithmetic across DST changes, without a server: days drawn
in the viewer's zone are 23 or 25 hours long on a change and the bars sit
where the real instants are; off-hours follow the responder's wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.console import calendar_view
from app.console.shifts import off_hours, worked
from app.oncall import rotation

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def daily(zone: str) -> rotation.Schedule:
    """alice and bob, a day each, handing over at 09:00 local."""
    layer = rotation.Layer(
        name="daily",
        participants=("alice", "bob"),
        shift_length=timedelta(days=1),
        start=datetime(2027, 3, 1, 9, 0),
    )
    return rotation.Schedule("days", zone, (layer,))


def test_a_spring_forward_day_is_23_hours_and_the_handoff_stays_at_nine() -> None:
    [before, change, after] = calendar_view.build_days(
        daily("Europe/Berlin"), date(2027, 3, 27), 3, BERLIN
    )
    assert (before.hours, change.hours, after.hours) == (24, 23, 24)
    # 09:00 local is 9/24 of an ordinary day, and 8/23 of the short one (02:00-03:00
    # does not exist): the handoff is drawn at the wall clock's 09:00 both days.
    oncall_before = before.rows[-1].bars
    oncall_change = change.rows[-1].bars
    assert oncall_before[1].x == round(9 / 24 * 1000, 2)
    assert oncall_change[1].x == round(8 / 23 * 1000, 2)
    assert oncall_change[1].start == datetime(2027, 3, 28, 7, tzinfo=UTC)
    ticks = dict((label, x) for x, label in calendar_view.hour_ticks(change, BERLIN))
    assert ticks["06"] == round(5 / 23 * 1000, 2)


def test_a_fall_back_day_in_another_zone_is_25_hours() -> None:
    [day] = calendar_view.build_days(daily("Europe/Berlin"), date(2026, 11, 1), 1, NEW_YORK)
    assert day.hours == 25
    assert day.start == datetime(2026, 11, 1, 4, tzinfo=UTC)
    assert day.end == datetime(2026, 11, 2, 5, tzinfo=UTC)


def test_off_hours_follow_the_responders_wall_clock_across_a_change() -> None:
    shifts = worked(
        {"days": daily("Europe/Berlin")},
        datetime(2027, 3, 26, 8, tzinfo=UTC),
        datetime(2027, 3, 30, 7, tzinfo=UTC),
    )
    assert [s.start for s in shifts][1:3] == [
        datetime(2027, 3, 27, 8, tzinfo=UTC),
        datetime(2027, 3, 28, 7, tzinfo=UTC),
    ]
    weekend = shifts[1]  # Saturday 09:00 to Sunday 09:00 CEST: 23 real hours, all off
    assert weekend.end - weekend.start == timedelta(hours=23)
    assert off_hours(weekend.start, weekend.end, "Europe/Berlin", 9, 18) == timedelta(hours=23)
    monday = shifts[3]  # Monday 09:00-Tuesday 09:00 CEST: 9 working hours, 15 off
    assert off_hours(monday.start, monday.end, "Europe/Berlin", 9, 18) == timedelta(hours=15)
    # The same Monday for a responder in New York (still EDT, 6 hours behind):
    # 09:00-18:00 there is 13:00-22:00 UTC, inside the shift.
    assert off_hours(monday.start, monday.end, "America/New_York", 9, 18) == timedelta(hours=15)
    # Working hours set to none of the day: everything is off-hours.
    assert off_hours(monday.start, monday.end, "UTC", 9, 9) == timedelta(hours=24)
