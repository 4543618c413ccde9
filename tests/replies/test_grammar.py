"""Parsing SMS replies into acknowledge / resolve / ack-all commands."""

from __future__ import annotations

import pytest

from app.notify.texts import gsm7_segments, is_gsm7
from app.replies.grammar import HELP_TEXT, Reply, parse_reply

ACK_42 = Reply("ack", 42)
RESOLVE_42 = Reply("resolve", 42)
ACK_LATEST = Reply("ack", None)
RESOLVE_LATEST = Reply("resolve", None)
ACK_ALL = Reply("ack_all", None)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("42A", ACK_42),
        ("42a", ACK_42),
        ("42 a", ACK_42),
        ("ack 42", ACK_42),
        ("a 42", ACK_42),
        ("ACK #42", ACK_42),
        ("#42 ack", ACK_42),
        ("42 ack", ACK_42),
        ("42ack", ACK_42),
        ("acknowledge 42", ACK_42),
        ("Acknowledge #42", ACK_42),
        ("42R", RESOLVE_42),
        ("42 r", RESOLVE_42),
        ("resolve 42", RESOLVE_42),
        ("r 42", RESOLVE_42),
        ("res 42", RESOLVE_42),
        ("42 resolve", RESOLVE_42),
        ("#42R", RESOLVE_42),
        ("A", ACK_LATEST),
        ("a", ACK_LATEST),
        ("ack", ACK_LATEST),
        ("acknowledge", ACK_LATEST),
        ("R", RESOLVE_LATEST),
        ("resolve", RESOLVE_LATEST),
        ("AA", ACK_ALL),
        ("aa", ACK_ALL),
        ("ack all", ACK_ALL),
        ("ACK  ALL", ACK_ALL),
        ("42A.", ACK_42),
        ("42A!", ACK_42),
        ("  42a  ", ACK_42),
        ("\n42 A!\n", ACK_42),
        ("Ack.", ACK_LATEST),
        ("ack\u00a042", ACK_42),
        ("\t42A" + " " * 500, ACK_42),
        ("1A", Reply("ack", 1)),
        ("999999999R", Reply("resolve", 999_999_999)),
    ],
)
def test_accepted_reply_forms(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "42",
        "#42",
        "A42B",
        "hello",
        "42Z",
        "42 A B",
        "ack 42 please",
        "1234567890A",
        "0A",
        "ack 0",
        "4 2 A",
        "42 4 A",
        "AAA",
        "A A",
        "-42A",
        "42.5A",
        "٤٢A",  # Arabic-Indic digits
    ],
)
def test_rejected_reply_forms(body: str) -> None:
    assert parse_reply(body) is None


def test_help_text_is_one_gsm7_segment_and_explains_the_forms() -> None:
    assert is_gsm7(HELP_TEXT)
    assert gsm7_segments(HELP_TEXT) == 1
    for form in ("42A", "42R", "AA"):
        assert form in HELP_TEXT


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("42X", Reply("run", 42)),
        ("42x", Reply("run", 42)),
        ("#42 x", Reply("run", 42)),
        ("run 42", Reply("run", 42)),
        ("42 run.", Reply("run", 42)),
        ("X", Reply("run", None)),
        ("run", Reply("run", None)),
    ],
)
def test_run_the_offered_action(body: str, expected: Reply) -> None:
    """``42X`` approves the action the page offered (app/automation/approval.py)."""
    assert parse_reply(body) == expected


@pytest.mark.parametrize("body", ["42XX", "xa", "42 run it", "runs 42", "x42x"])
def test_run_forms_not_understood(body: str) -> None:
    assert parse_reply(body) is None
