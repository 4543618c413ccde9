"""Tests for the pure on-call computation in app.oncall.rotation.

Every instant is explicit; nothing depends on the wall clock.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.oncall import layers
from app.oncall.fatigue import consecutive_oncall_warnings
from app.oncall.rotation import (
    HORIZON,
    Layer,
    OnCall,
    Override,
    Restriction,
    Schedule,
    Shift,
    render_shifts,
    validate_schedule,
    who_is_on_call,
)

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
EVERY_DAY = frozenset(range(1, 8))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def at_local(
    tz: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz, fold=fold)


def responder(schedule: Schedule, at: datetime) -> str | None:
    return who_is_on_call(schedule, at).responder


def handoffs(shifts: list[Shift]) -> list[tuple[str, datetime, datetime]]:
    return [(s.responder, s.start, s.end) for s in shifts]


# --------------------------------------------------------------------------------------
# Rotation order
# --------------------------------------------------------------------------------------


def weekly_utc(*people: str, start: datetime = utc(2026, 3, 2, 9)) -> Schedule:
    return Schedule(
        name="eng",
        time_zone="UTC",
        layers=(Layer("primary", people, timedelta(weeks=1), start),),
    )


def test_weekly_rotation_follows_participant_order_and_wraps_around() -> None:
    s = weekly_utc("alice", "bob", "carol")

    assert responder(s, utc(2026, 3, 2, 9)) == "alice"
    assert responder(s, utc(2026, 3, 9, 8, 59)) == "alice"
    assert responder(s, utc(2026, 3, 9, 9)) == "bob"
    assert responder(s, utc(2026, 3, 16, 9)) == "carol"
    assert responder(s, utc(2026, 3, 23, 9)) == "alice"  # wrapped around
    # 52 weeks later: index 52 % 3 == 1
    assert responder(s, utc(2027, 3, 1, 12)) == "bob"

    assert render_shifts(s, utc(2026, 3, 2, 9), utc(2026, 3, 30, 9)) == [
        Shift("alice", utc(2026, 3, 2, 9), utc(2026, 3, 9, 9), "primary"),
        Shift("bob", utc(2026, 3, 9, 9), utc(2026, 3, 16, 9), "primary"),
        Shift("carol", utc(2026, 3, 16, 9), utc(2026, 3, 23, 9), "primary"),
        Shift("alice", utc(2026, 3, 23, 9), utc(2026, 3, 30, 9), "primary"),
    ]


def test_nobody_is_on_call_before_the_first_handoff() -> None:
    s = weekly_utc("alice", "bob")

    assert who_is_on_call(s, utc(2026, 3, 2, 8)) == OnCall(None, utc(2026, 3, 2, 9), None)
    assert render_shifts(s, utc(2026, 3, 1), utc(2026, 3, 3))[0].start == utc(2026, 3, 2, 9)


def test_handoff_later_than_start_time_makes_first_handoff_the_next_occurrence() -> None:
    layer = Layer(
        "primary",
        ("alice", "bob"),
        timedelta(weeks=1),
        start=datetime(2026, 3, 2, 12),  # naive = schedule-local (Monday noon)
        handoff=time(9),
    )
    s = Schedule("eng", "Europe/Berlin", (layer,))

    # 09:00 Monday has passed, so the first handoff is Tuesday 09:00 CET (08:00 UTC).
    assert responder(s, utc(2026, 3, 3, 7, 59)) is None
    assert who_is_on_call(s, utc(2026, 3, 3, 8)) == OnCall("alice", utc(2026, 3, 10, 8), "primary")


def test_aware_layer_start_is_converted_to_schedule_local_time() -> None:
    # 14:00 UTC on 2026-03-02 is 09:00 in New York: handoffs follow New York wall time.
    layer = Layer("primary", ("alice", "bob"), timedelta(days=1), start=utc(2026, 3, 2, 14))
    s = Schedule("eng", "America/New_York", (layer,))

    assert who_is_on_call(s, utc(2026, 3, 9, 13, 30)) == OnCall(
        "bob", utc(2026, 3, 10, 13), "primary"
    )


# --------------------------------------------------------------------------------------
# Layers and restrictions
# --------------------------------------------------------------------------------------


def test_higher_layer_wins_and_lower_layer_shows_through_outside_its_restriction() -> None:
    base = Layer("base", ("alice", "bob"), timedelta(weeks=1), datetime(2026, 3, 2, 0, 0))
    daytime = Layer(
        "daytime",
        ("carol",),
        timedelta(days=1),
        datetime(2026, 3, 2, 9, 0),
        restrictions=(Restriction(WEEKDAYS, time(9), time(17)),),
    )
    s = Schedule("eng", "Europe/Berlin", (base, daytime))

    assert who_is_on_call(s, at_local(BERLIN, 2026, 3, 2, 10)) == OnCall(
        "carol", utc(2026, 3, 2, 16), "daytime"
    )
    assert who_is_on_call(s, at_local(BERLIN, 2026, 3, 2, 18)) == OnCall(
        "alice", utc(2026, 3, 3, 8), "base"
    )
    assert responder(s, at_local(BERLIN, 2026, 3, 7, 10)) == "alice"  # Saturday
    assert responder(s, at_local(BERLIN, 2026, 3, 9, 10)) == "carol"  # next Monday

    day = render_shifts(s, at_local(BERLIN, 2026, 3, 2, 0), at_local(BERLIN, 2026, 3, 3, 0))
    assert day == [
        Shift("alice", utc(2026, 3, 1, 23), utc(2026, 3, 2, 8), "base"),
        Shift("carol", utc(2026, 3, 2, 8), utc(2026, 3, 2, 16), "daytime"),
        Shift("alice", utc(2026, 3, 2, 16), utc(2026, 3, 2, 23), "base"),
    ]


def test_follow_the_sun_three_restricted_layers_cover_every_hour() -> None:
    def region(name: str, start: time, end: time) -> Layer:
        return Layer(
            name,
            (f"{name}-1", f"{name}-2"),
            timedelta(weeks=1),
            utc(2026, 3, 2),
            restrictions=(Restriction(EVERY_DAY, start, end),),
        )

    s = Schedule(
        "global",
        "UTC",
        (
            region("apac", time(0), time(8)),
            region("emea", time(8), time(16)),
            region("amer", time(16), time(0)),  # runs up to midnight
        ),
    )

    assert who_is_on_call(s, utc(2026, 3, 4, 3)) == OnCall("apac-1", utc(2026, 3, 4, 8), "apac")
    assert who_is_on_call(s, utc(2026, 3, 4, 12)) == OnCall("emea-1", utc(2026, 3, 4, 16), "emea")
    assert who_is_on_call(s, utc(2026, 3, 4, 20)) == OnCall("amer-1", utc(2026, 3, 5), "amer")
    assert responder(s, utc(2026, 3, 10, 20)) == "amer-2"

    start, end = utc(2026, 3, 2), utc(2026, 3, 16)
    shifts = render_shifts(s, start, end)
    assert shifts[0].start == start
    assert shifts[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(shifts))  # no gaps
    assert all(s.end - s.start == timedelta(hours=8) for s in shifts)
    assert [s.source for s in shifts[:4]] == ["apac", "emea", "amer", "apac"]
    assert len(shifts) == 14 * 3


def test_restriction_window_crossing_midnight_runs_into_the_next_day() -> None:
    base = Layer("base", ("alice",), timedelta(weeks=1), datetime(2026, 1, 5, 0, 0))
    night = Layer(
        "friday-night",
        ("nick", "nora"),
        timedelta(weeks=1),
        datetime(2026, 1, 5, 0, 0),
        restrictions=(Restriction(frozenset({5, 6}), time(22), time(6)),),  # Fri + Sat nights
    )
    s = Schedule("eng", "Europe/Berlin", (base, night))

    assert responder(s, at_local(BERLIN, 2026, 3, 5, 23)) == "alice"  # Thursday night
    assert responder(s, at_local(BERLIN, 2026, 3, 6, 21, 59)) == "alice"
    assert who_is_on_call(s, at_local(BERLIN, 2026, 3, 6, 22)) == OnCall(
        "nick", utc(2026, 3, 7, 5), "friday-night"
    )
    assert responder(s, at_local(BERLIN, 2026, 3, 7, 5, 59)) == "nick"  # Saturday morning
    assert responder(s, at_local(BERLIN, 2026, 3, 7, 6)) == "alice"
    assert responder(s, at_local(BERLIN, 2026, 3, 8, 1)) == "nick"  # Saturday's window
    assert responder(s, at_local(BERLIN, 2026, 3, 8, 22)) == "alice"  # Sunday: no window

    # The Saturday night window spanning spring-forward is 7 h long (22:00 CET -> 06:00 CEST).
    shifts = render_shifts(s, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert handoffs(shifts) == [
        ("alice", utc(2026, 3, 28, 12), utc(2026, 3, 28, 21)),
        ("nora", utc(2026, 3, 28, 21), utc(2026, 3, 29, 4)),
        ("alice", utc(2026, 3, 29, 4), utc(2026, 3, 29, 12)),
    ]


def test_restricted_layer_keeps_rotating_while_inactive() -> None:
    layer = Layer(
        "daytime",
        ("a", "b", "c"),
        timedelta(days=1),
        utc(2026, 3, 2),
        restrictions=(Restriction(WEEKDAYS, time(9), time(17)),),
    )
    s = Schedule("eng", "UTC", (layer,))

    assert responder(s, utc(2026, 3, 5, 10)) == "a"  # Thursday, day 3
    assert responder(s, utc(2026, 3, 6, 10)) == "b"  # Friday, day 4
    assert responder(s, utc(2026, 3, 7, 10)) is None  # Saturday, inactive
    # Monday is day 7: the weekend's turns (c, a) were consumed, so b again, not c.
    assert responder(s, utc(2026, 3, 9, 10)) == "b"


# --------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------


def override_schedule(*overrides: Override) -> Schedule:
    base = Layer("base", ("alice", "bob"), timedelta(days=1), utc(2026, 3, 2, 9))
    top = Layer(
        "top",
        ("erin",),
        timedelta(days=1),
        utc(2026, 3, 2, 0),
        restrictions=(Restriction(EVERY_DAY, time(10), time(11)),),
    )
    return Schedule("eng", "UTC", (base, top), overrides)


def test_override_straddling_a_handoff_wins_over_every_layer() -> None:
    s = override_schedule(Override(utc(2026, 3, 3, 6), utc(2026, 3, 3, 12), "dave"))

    # before
    assert who_is_on_call(s, utc(2026, 3, 3, 5, 59)) == OnCall("alice", utc(2026, 3, 3, 6), "base")
    # during, on both sides of the 09:00 handoff and over the top layer's 10-11 window
    assert who_is_on_call(s, utc(2026, 3, 3, 8)) == OnCall("dave", utc(2026, 3, 3, 12), "override")
    assert who_is_on_call(s, utc(2026, 3, 3, 9, 30)).responder == "dave"
    assert who_is_on_call(s, utc(2026, 3, 3, 10, 30)).responder == "dave"
    # after: the handoff happened underneath, so bob is on
    assert who_is_on_call(s, utc(2026, 3, 3, 12)) == OnCall("bob", utc(2026, 3, 4, 9), "base")
    # the top layer still wins on a day without an override
    assert who_is_on_call(s, utc(2026, 3, 2, 10, 30)) == OnCall("erin", utc(2026, 3, 2, 11), "top")

    assert render_shifts(s, utc(2026, 3, 3, 0), utc(2026, 3, 3, 18)) == [
        Shift("alice", utc(2026, 3, 3, 0), utc(2026, 3, 3, 6), "base"),
        Shift("dave", utc(2026, 3, 3, 6), utc(2026, 3, 3, 12), "override"),
        Shift("bob", utc(2026, 3, 3, 12), utc(2026, 3, 3, 18), "base"),
    ]


def test_later_override_wins_where_overrides_overlap() -> None:
    s = override_schedule(
        Override(utc(2026, 3, 3, 0), utc(2026, 3, 3, 6), "dave"),
        Override(utc(2026, 3, 3, 4), utc(2026, 3, 3, 5), "fay"),
    )

    assert handoffs(render_shifts(s, utc(2026, 3, 3, 0), utc(2026, 3, 3, 6))) == [
        ("dave", utc(2026, 3, 3, 0), utc(2026, 3, 3, 4)),
        ("fay", utc(2026, 3, 3, 4), utc(2026, 3, 3, 5)),
        ("dave", utc(2026, 3, 3, 5), utc(2026, 3, 3, 6)),
    ]


# --------------------------------------------------------------------------------------
# DST
# --------------------------------------------------------------------------------------


def daily(tz: str, start: datetime, *, handoff: time | None = None) -> Schedule:
    layer = Layer("daily", ("a", "b", "c"), timedelta(days=1), start, handoff=handoff)
    return Schedule("eng", tz, (layer,))


def lengths(shifts: list[Shift]) -> list[timedelta]:
    return [s.end - s.start for s in shifts]


def test_new_york_spring_forward_daily_0900_handoff_stays_at_0900_local() -> None:
    s = daily("America/New_York", datetime(2026, 3, 6, 9, 0))
    shifts = render_shifts(s, utc(2026, 3, 7, 14), utc(2026, 3, 9, 13))

    # 09:00 EST = 14:00 UTC before, 09:00 EDT = 13:00 UTC after 2026-03-08 02:00.
    assert handoffs(shifts) == [
        ("b", utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)),
        ("c", utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)),
    ]
    assert lengths(shifts) == [timedelta(hours=23), timedelta(hours=24)]
    assert all(x.start.astimezone(NEW_YORK).time() == time(9) for x in shifts)
    assert who_is_on_call(s, utc(2026, 3, 8, 12, 59)) == OnCall("b", utc(2026, 3, 8, 13), "daily")
    assert responder(s, utc(2026, 3, 8, 13)) == "c"


def test_new_york_fall_back_daily_0900_handoff_stays_at_0900_local() -> None:
    s = daily("America/New_York", datetime(2026, 10, 30, 9, 0))
    shifts = render_shifts(s, utc(2026, 10, 31, 13), utc(2026, 11, 2, 14))

    # 09:00 EDT = 13:00 UTC before, 09:00 EST = 14:00 UTC after 2026-11-01 02:00.
    assert handoffs(shifts) == [
        ("b", utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)),
        ("c", utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)),
    ]
    assert lengths(shifts) == [timedelta(hours=25), timedelta(hours=24)]
    assert who_is_on_call(s, utc(2026, 11, 1, 13, 30)) == OnCall("b", utc(2026, 11, 1, 14), "daily")


def test_twelve_hour_shifts_stay_at_0900_and_2100_local_across_dst() -> None:
    layer = Layer("split", ("day", "night"), timedelta(hours=12), datetime(2026, 3, 6, 9, 0))
    s = Schedule("eng", "America/New_York", (layer,))
    shifts = render_shifts(s, utc(2026, 3, 7, 14), utc(2026, 3, 9, 1))

    assert handoffs(shifts) == [
        ("day", utc(2026, 3, 7, 14), utc(2026, 3, 8, 2)),  # 09:00 -> 21:00 EST
        ("night", utc(2026, 3, 8, 2), utc(2026, 3, 8, 13)),  # 21:00 EST -> 09:00 EDT: 11 h
        ("day", utc(2026, 3, 8, 13), utc(2026, 3, 9, 1)),  # 09:00 -> 21:00 EDT
    ]
    local_times = {x.start.astimezone(NEW_YORK).time() for x in shifts}
    assert local_times == {time(9), time(21)}

    autumn = render_shifts(s, utc(2026, 11, 1, 1), utc(2026, 11, 2, 2))
    assert lengths(autumn) == [timedelta(hours=13), timedelta(hours=12)]


def test_shift_length_not_dividing_a_day_counts_elapsed_hours_across_dst() -> None:
    layer = Layer("odd", ("a", "b"), timedelta(hours=10), datetime(2026, 3, 7, 9, 0))
    s = Schedule("eng", "America/New_York", (layer,))
    shifts = render_shifts(s, utc(2026, 3, 7, 14), utc(2026, 3, 9, 16))

    assert shifts[0].start == utc(2026, 3, 7, 14)  # 09:00 EST anchor
    assert set(lengths(shifts)) == {timedelta(hours=10)}
    assert [x.start for x in shifts][:4] == [
        utc(2026, 3, 7, 14),
        utc(2026, 3, 8, 0),
        utc(2026, 3, 8, 10),  # no DST adjustment: elapsed time
        utc(2026, 3, 8, 20),
    ]


def test_berlin_spring_and_autumn_daily_0900_handoff_stays_at_0900_local() -> None:
    spring = daily("Europe/Berlin", datetime(2026, 3, 27, 9, 0))
    assert handoffs(render_shifts(spring, utc(2026, 3, 28, 8), utc(2026, 3, 30, 7))) == [
        ("b", utc(2026, 3, 28, 8), utc(2026, 3, 29, 7)),  # 23 h
        ("c", utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)),
    ]

    autumn = daily("Europe/Berlin", datetime(2026, 10, 23, 9, 0))
    assert handoffs(render_shifts(autumn, utc(2026, 10, 24, 7), utc(2026, 10, 26, 8))) == [
        ("b", utc(2026, 10, 24, 7), utc(2026, 10, 25, 8)),  # 25 h
        ("c", utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)),
    ]


def test_berlin_0230_handoff_moves_to_0300_in_the_spring_gap() -> None:
    s = daily("Europe/Berlin", datetime(2026, 3, 27, 2, 30))
    shifts = render_shifts(s, utc(2026, 3, 28, 1, 30), utc(2026, 3, 30, 0, 30))

    assert handoffs(shifts) == [
        ("b", utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1)),  # 02:30 CET -> 03:00 CEST
        ("c", utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)),  # 03:00 CEST -> 02:30 CEST
    ]
    assert shifts[1].start.astimezone(BERLIN).time() == time(3)
    assert lengths(shifts) == [timedelta(hours=23, minutes=30)] * 2
    assert who_is_on_call(s, utc(2026, 3, 29, 0, 59)) == OnCall("b", utc(2026, 3, 29, 1), "daily")


def test_berlin_0230_handoff_uses_first_occurrence_on_the_ambiguous_autumn_day() -> None:
    s = daily("Europe/Berlin", datetime(2026, 10, 23, 2, 30))
    shifts = render_shifts(s, utc(2026, 10, 24, 0, 30), utc(2026, 10, 26, 1, 30))

    assert handoffs(shifts) == [
        ("b", utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30)),  # 02:30 CEST (first)
        ("c", utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),  # -> 02:30 CET: 25 h
    ]
    # 02:15 CET (the second 02:15) is within c's shift, which began at the first 02:30.
    second_0215 = at_local(BERLIN, 2026, 10, 25, 2, 15, fold=1)
    assert second_0215.astimezone(UTC) == utc(2026, 10, 25, 1, 15)
    assert who_is_on_call(s, second_0215) == OnCall("c", utc(2026, 10, 26, 1, 30), "daily")


def test_sub_hour_slot_inside_the_spring_gap_is_skipped_but_keeps_its_turn() -> None:
    layer = Layer("hourly", ("a", "b", "c"), timedelta(hours=1), datetime(2026, 3, 8, 0, 0))
    s = Schedule("eng", "America/New_York", (layer,))

    # Slots 00:00 a, 01:00 b, 02:00 c (does not exist), 03:00 a.
    assert handoffs(render_shifts(s, utc(2026, 3, 8, 5), utc(2026, 3, 8, 8))) == [
        ("a", utc(2026, 3, 8, 5), utc(2026, 3, 8, 6)),
        ("b", utc(2026, 3, 8, 6), utc(2026, 3, 8, 7)),
        ("a", utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)),
    ]
    assert who_is_on_call(s, utc(2026, 3, 8, 6, 30)) == OnCall("b", utc(2026, 3, 8, 7), "hourly")


# --------------------------------------------------------------------------------------
# until
# --------------------------------------------------------------------------------------


def test_until_is_the_end_of_the_current_shift() -> None:
    s = weekly_utc("alice", "bob")
    assert who_is_on_call(s, utc(2026, 3, 4)) == OnCall("alice", utc(2026, 3, 9, 9), "primary")


def test_until_is_none_when_the_answer_never_changes_within_the_horizon() -> None:
    s = weekly_utc("alice")  # one person, always on
    assert who_is_on_call(s, utc(2026, 6, 1)) == OnCall("alice", None, "primary")


def test_until_spans_merged_segments_and_stops_at_the_restriction_window() -> None:
    layer = Layer(
        "daytime",
        ("alice",),
        timedelta(hours=1),  # many handoffs to the same person
        utc(2026, 3, 2),
        restrictions=(Restriction(WEEKDAYS, time(9), time(17)),),
    )
    s = Schedule("eng", "UTC", (layer,))

    assert who_is_on_call(s, utc(2026, 3, 2, 9, 30)) == OnCall(
        "alice", utc(2026, 3, 2, 17), "daytime"
    )
    # Nobody on call: until is when somebody next is (Friday evening -> Monday morning).
    assert who_is_on_call(s, utc(2026, 3, 6, 18)) == OnCall(None, utc(2026, 3, 9, 9), None)


def test_until_changes_when_the_source_changes_even_for_the_same_person() -> None:
    s = Schedule(
        "eng",
        "UTC",
        (weekly_utc("alice").layers[0],),
        (Override(utc(2026, 3, 4), utc(2026, 3, 5), "alice"),),
    )
    assert who_is_on_call(s, utc(2026, 3, 3)) == OnCall("alice", utc(2026, 3, 4), "primary")
    assert who_is_on_call(s, utc(2026, 3, 4, 1)) == OnCall("alice", utc(2026, 3, 5), "override")


def test_until_is_none_when_nobody_is_ever_on_call() -> None:
    s = Schedule("empty", "UTC", ())
    assert who_is_on_call(s, utc(2026, 3, 4)) == OnCall(None, None, None)
    assert render_shifts(s, utc(2026, 3, 1), utc(2026, 4, 1)) == []


# --------------------------------------------------------------------------------------
# Consecutive on-call warnings
# --------------------------------------------------------------------------------------


def test_seven_day_warning_fires_for_a_fourteen_day_stretch() -> None:
    shifts = render_shifts(weekly_utc("alice"), utc(2026, 3, 2, 9), utc(2026, 3, 16, 9))

    assert consecutive_oncall_warnings(shifts) == [
        "alice is on call for 14 days without a break from 2026-03-02 09:00 UTC"
        " to 2026-03-16 09:00 UTC (limit 7 days)"
    ]


def test_seven_day_warning_fires_for_two_week_shifts() -> None:
    layer = Layer("fortnight", ("alice", "bob"), timedelta(weeks=2), utc(2026, 3, 2, 9))
    s = Schedule("eng", "UTC", (layer,))
    shifts = render_shifts(s, utc(2026, 3, 2, 9), utc(2026, 3, 30, 9))
    warnings = consecutive_oncall_warnings(shifts)

    assert [w.split(" ")[0] for w in warnings] == ["alice", "bob"]
    assert all("for 14 days" in w for w in warnings)


def test_seven_day_warning_does_not_fire_for_exactly_seven_days() -> None:
    shifts = render_shifts(weekly_utc("alice", "bob"), utc(2026, 3, 2, 9), utc(2026, 4, 27, 9))
    assert consecutive_oncall_warnings(shifts) == []


def test_seven_day_warning_merges_adjacent_shifts_from_different_sources() -> None:
    shifts = [
        Shift("alice", utc(2026, 3, 2), utc(2026, 3, 7), "primary"),
        Shift("alice", utc(2026, 3, 7), utc(2026, 3, 9, 1), "override"),
        Shift("bob", utc(2026, 3, 9, 1), utc(2026, 3, 10), "primary"),
    ]
    assert consecutive_oncall_warnings(shifts) == [
        "alice is on call for 7 days 1 hour without a break from 2026-03-02 00:00 UTC"
        " to 2026-03-09 01:00 UTC (limit 7 days)"
    ]


def test_seven_day_warning_is_reset_by_a_break() -> None:
    shifts = [
        Shift("alice", utc(2026, 3, 2), utc(2026, 3, 7), "primary"),
        Shift("bob", utc(2026, 3, 7), utc(2026, 3, 7, 1), "override"),
        Shift("alice", utc(2026, 3, 7, 1), utc(2026, 3, 12), "primary"),
    ]
    assert consecutive_oncall_warnings(shifts) == []
    assert len(consecutive_oncall_warnings(shifts, limit=timedelta(days=4))) == 2


def test_weekly_shift_across_fall_back_is_seven_wall_clock_days() -> None:
    layer = Layer("primary", ("alice", "bob"), timedelta(weeks=1), datetime(2026, 10, 26, 9, 0))
    s = Schedule("eng", "America/New_York", (layer,))
    shifts = render_shifts(s, utc(2026, 10, 26, 13), utc(2026, 11, 2, 14))

    assert lengths(shifts) == [timedelta(days=7, hours=1)]
    assert len(consecutive_oncall_warnings(shifts)) == 1  # elapsed time: 7 days 1 hour
    assert consecutive_oncall_warnings(shifts, time_zone="America/New_York") == []


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

_OK_LAYER = Layer("primary", ("alice",), timedelta(days=1), utc(2026, 3, 2))


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        pytest.param(Schedule("s", "Mars/Olympus_Mons", (_OK_LAYER,)), "time_zone", id="tz"),
        pytest.param(Schedule("s", "", (_OK_LAYER,)), "time_zone", id="tz-empty"),
        pytest.param(
            Schedule("s", "UTC", (Layer("primary", (), timedelta(days=1), utc(2026, 3, 2)),)),
            r"layers\[0\] \('primary'\)\.participants",
            id="participants",
        ),
        pytest.param(
            Schedule("s", "UTC", (Layer("primary", ("a",), timedelta(0), utc(2026, 3, 2)),)),
            r"layers\[0\] \('primary'\)\.shift_length",
            id="zero-length",
        ),
        pytest.param(
            Schedule("s", "UTC", (Layer("p", ("a",), timedelta(hours=-1), utc(2026, 3, 2)),)),
            "shift_length",
            id="negative-length",
        ),
        pytest.param(
            Schedule(
                "s",
                "UTC",
                (_OK_LAYER,),
                (Override(utc(2026, 3, 2), utc(2026, 3, 1), "bob"),),
            ),
            r"overrides\[0\]\.end",
            id="override-backwards",
        ),
        pytest.param(
            Schedule(
                "s",
                "UTC",
                (_OK_LAYER,),
                (Override(utc(2026, 3, 2), utc(2026, 3, 2), "bob"),),
            ),
            r"overrides\[0\]\.end",
            id="override-empty",
        ),
        pytest.param(
            Schedule(
                "s",
                "UTC",
                (
                    _OK_LAYER,
                    Layer(
                        "day",
                        ("a",),
                        timedelta(days=1),
                        utc(2026, 3, 2),
                        restrictions=(Restriction(frozenset(), time(9), time(17)),),
                    ),
                ),
            ),
            r"layers\[1\] \('day'\)\.restrictions\[0\]\.days",
            id="restriction-days",
        ),
        pytest.param(
            Schedule(
                "s",
                "UTC",
                (
                    Layer(
                        "day",
                        ("a",),
                        timedelta(days=1),
                        utc(2026, 3, 2),
                        restrictions=(Restriction(frozenset({0, 8}), time(9), time(17)),),
                    ),
                ),
            ),
            r"restrictions\[0\]\.days",
            id="restriction-weekday-range",
        ),
    ],
)
def test_validate_schedule_errors_name_the_field(schedule: Schedule, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_schedule(schedule)
    with pytest.raises(ValueError, match=message):
        who_is_on_call(schedule, utc(2026, 3, 3))


def test_validate_schedule_names_the_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        validate_schedule(Schedule("s", "Mars/Olympus_Mons", (_OK_LAYER,)))


def test_validate_schedule_accepts_a_valid_schedule() -> None:
    validate_schedule(Schedule("s", "Europe/Berlin", (_OK_LAYER,)))


def test_naive_query_instants_are_rejected() -> None:
    s = Schedule("s", "UTC", (_OK_LAYER,))
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        who_is_on_call(s, datetime(2026, 3, 3))
    with pytest.raises(ValueError, match="start must be a timezone-aware"):
        render_shifts(s, datetime(2026, 3, 3), utc(2026, 3, 4))


# --------------------------------------------------------------------------------------
# Efficiency (structural, not timed)
# --------------------------------------------------------------------------------------


def test_point_lookup_cost_does_not_grow_with_distance_from_the_anchor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = Layer("hourly", ("a", "b", "c"), timedelta(hours=1), datetime(1976, 3, 1, 0, 0))
    s = Schedule("eng", "America/New_York", (layer,))
    calls = 0
    real: Callable[[ZoneInfo, datetime], datetime] = layers.resolve

    def counting(tz: ZoneInfo, wall: datetime) -> datetime:
        nonlocal calls
        calls += 1
        return real(tz, wall)

    monkeypatch.setattr(layers, "resolve", counting)
    near = who_is_on_call(s, utc(1976, 3, 3, 12, 30))
    near_calls, calls = calls, 0
    far = who_is_on_call(s, utc(2026, 3, 3, 12, 30))  # ~440k hourly shifts later

    assert near.until is not None and far.until is not None
    assert far.until - utc(2026, 3, 3, 12, 30) == timedelta(minutes=30)
    assert calls <= near_calls + 5
    assert calls < 200


# --------------------------------------------------------------------------------------
# Property: who_is_on_call agrees with render_shifts
# --------------------------------------------------------------------------------------


def mixed_schedule(tz: str) -> Schedule:
    return Schedule(
        name="mixed",
        time_zone=tz,
        layers=(
            Layer("base", ("b1", "b2", "b3"), timedelta(weeks=1), datetime(2025, 12, 29, 9, 0)),
            Layer(
                "business",
                ("d1", "d2"),
                timedelta(hours=12),
                datetime(2026, 1, 1, 9, 0),
                restrictions=(Restriction(WEEKDAYS, time(9), time(17)),),
            ),
            Layer(
                "nights",
                ("n1", "n2", "n3"),
                timedelta(days=1),
                datetime(2026, 1, 2, 2, 30),  # handoff inside DST gaps / overlaps
                restrictions=(
                    Restriction(frozenset({5, 6}), time(22), time(6)),
                    Restriction(frozenset({7}), time(1, 45), time(3, 15)),
                ),
            ),
            Layer(
                "odd",
                ("o1", "o2"),
                timedelta(hours=10),
                datetime(2026, 1, 4, 3, 0),
                restrictions=(Restriction(frozenset({7}), time(10), time(20)),),
            ),
            Layer(
                "hourly",
                ("h1", "b1", "h3"),
                timedelta(hours=1),
                datetime(2026, 1, 4, 0, 0),
                restrictions=(Restriction(frozenset({7}), time(0), time(5)),),
            ),
            Layer(
                "late-start",
                ("l1",),
                timedelta(days=3),
                datetime(2026, 7, 1, 12, 0),
                restrictions=(Restriction(frozenset({3}), time(12), time(12)),),  # 24 h
            ),
        ),
        overrides=(
            Override(utc(2026, 3, 7, 20), utc(2026, 3, 9, 3), "ov1"),
            Override(utc(2026, 3, 28, 23), utc(2026, 3, 29, 6), "b2"),
            Override(utc(2026, 10, 24, 22), utc(2026, 11, 1, 9), "ov2"),
            Override(utc(2026, 10, 28), utc(2026, 10, 29), "ov3"),
        ),
    )


@pytest.mark.parametrize("tz", ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe"])
def test_who_is_on_call_agrees_with_render_shifts_for_random_instants(tz: str) -> None:
    rng = random.Random(f"klaxon-{tz}")
    s = mixed_schedule(tz)
    year_start, year_end = utc(2026, 1, 1), utc(2027, 1, 1)
    timeline = render_shifts(s, year_start, year_end + timedelta(days=400))

    # Rendered timeline invariants.
    for a, b in itertools.pairwise(timeline):
        assert a.start < a.end <= b.start
        assert a.end < b.start or (a.responder, a.source) != (b.responder, b.source)
    starts = [x.start for x in timeline]

    boundaries = [x.start for x in timeline if x.start < year_end]
    boundaries += [x.end for x in timeline if x.end < year_end]
    picked = rng.sample(boundaries, 300)
    instants = [year_start + timedelta(seconds=rng.randrange(366 * 86400)) for _ in range(700)]
    instants += picked + [b - timedelta(microseconds=1) for b in picked]

    for t in instants:
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and t < timeline[i].end:
            seg = timeline[i]
            expected = OnCall(seg.responder, seg.end if seg.end < t + HORIZON else None, seg.source)
        else:
            nxt = timeline[i + 1].start if i + 1 < len(timeline) else None
            expected = OnCall(None, nxt if nxt is not None and nxt < t + HORIZON else None, None)
        assert who_is_on_call(s, t) == expected, t

    # Rendering a sub-range gives the big timeline clipped to it.
    for _ in range(30):
        lo = year_start + timedelta(minutes=rng.randrange(366 * 1440))
        hi = lo + timedelta(minutes=rng.randrange(1, 45 * 1440))
        clipped = [
            Shift(x.responder, max(x.start, lo), min(x.end, hi), x.source)
            for x in timeline
            if x.start < hi and x.end > lo
        ]
        assert render_shifts(s, lo, hi) == clipped
