"""app.durations: the one syntax for lengths of time, and each written form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import durations


@pytest.mark.parametrize(
    ("text", "units", "seconds"),
    [
        ("90s", "wdhms", 90),
        ("1h30m", "wdhms", 5400),
        ("1w1d", "wdhms", 8 * 86400),
        ("1d12h", "wdhm", 129600),
        ("", "wdhms", None),
        ("30s", "wdhm", None),  # shifts have no seconds
        ("30m1h", "wdhms", None),  # units in order only
        ("5 m", "wdhms", None),
    ],
)
def test_parse_seconds_reads_units_in_order(text: str, units: str, seconds: int | None) -> None:
    assert durations.parse_seconds(text, units) == seconds


def test_each_written_form() -> None:
    assert durations.compact(90) == "1m30s"
    assert durations.compact(0) == "0s"
    assert durations.in_words(timedelta(days=2, hours=3)) == "2 days 3 hours"
    assert durations.in_words(timedelta(minutes=1)) == "1 minute"
    assert durations.human(52.753065) == "53s"
    assert durations.human(4 * 60 + 10) == "4m 10s"
    assert durations.human(3600 + 2 * 60 + 59) == "1h 02m"
    assert durations.human(2 * 86400 + 3 * 3600 + 1) == "2d 03h"
    assert durations.human(-5) == "0s"
    assert durations.age(3 * 3600 + 5 * 60) == "3h05m"
    assert durations.age(2 * 86400 + 4 * 3600 + 59) == "2d04h"
    assert durations.age(-1) == "0s"
