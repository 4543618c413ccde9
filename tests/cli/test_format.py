"""The CLI's text helpers: ages, times, masked phone numbers, tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cli._format import age, mask_phone, shorten, table, utc

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "shown"),
    [
        ("2026-11-26T11:59:15Z", "45s"),
        ("2026-11-26T11:48:00+00:00", "12m"),
        ("2026-11-26T08:55:00Z", "3h05m"),
        ("2026-11-24T08:00:00Z", "2d04h"),
        ("2026-11-26T07:00:00-05:00", "0s"),  # 12:00 UTC, now
        ("2026-11-26T12:00:30Z", "0s"),  # a server clock ahead of ours is not negative
    ],
)
def test_age_in_its_two_largest_units(since: str, shown: str) -> None:
    assert age(since, NOW) == shown


def test_times_are_shown_in_utc() -> None:
    assert utc("2026-11-26T07:05:00-05:00") == "2026-11-26 12:05 UTC"
    assert utc(None) == "-"


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+15551230001", "+*******0001"),
        ("+442071838750", "+********8750"),
        ("555-123-4567", "***-***-4567"),
        ("1234", "1234"),
        (None, "-"),
    ],
)
def test_phones_keep_only_their_last_4_digits(phone: str | None, shown: str) -> None:
    assert mask_phone(phone) == shown


def test_table_pads_columns_and_shorten_marks_the_cut() -> None:
    assert table(["A", "LONG HEADER"], [["wide cell", "x"], ["y", ""]]) == (
        "A          LONG HEADER\nwide cell  x\ny"
    )
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abcd", 4) == "abcd"
