"""Parsing the silence reply ``42S2h``: incident, length and unit."""

from __future__ import annotations

import pytest

from app.replies.grammar import Reply, parse_reply


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("42S2h", Reply("silence", 42, 7200)),
        ("42s2h", Reply("silence", 42, 7200)),
        ("42 s 30m", Reply("silence", 42, 1800)),
        ("#42 silence 1d", Reply("silence", 42, 86400)),
        ("42S 90m.", Reply("silence", 42, 5400)),
        ("7S8d", Reply("silence", 7, 8 * 86400)),  # parsed; the action refuses its length
    ],
)
def test_silence_replies(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.mark.parametrize("body", ["42S", "S2h", "42S2", "42S2w", "42S-1h", "42S2h30m"])
def test_not_silence_replies(body: str) -> None:
    assert parse_reply(body) is None


def test_the_other_replies_are_unchanged() -> None:
    assert parse_reply("42A") == Reply("ack", 42)
    assert parse_reply("42R") == Reply("resolve", 42)
    assert parse_reply("42IC") == Reply("command", 42)
