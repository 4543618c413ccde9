"""The throttle's rule, as a pure function of what is due and what went before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.notify.texts import gsm7_segments, notice_digest, with_more
from app.notify.throttle import Sent, label, plan

NOW = datetime(2026, 11, 26, 10, 10, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Item:
    kind: str
    incident_number: int | None
    severity: str = "SEV3"


def _urgent(item: Item) -> bool:
    return item.severity in ("SEV1", "SEV2")


def _full(kind: str, count: int = 5) -> list[Sent]:
    return [Sent(at=NOW - timedelta(minutes=10 - i), kind=kind) for i in range(count)]


def test_a_sev1_page_goes_through_a_full_window_and_takes_what_waits_along() -> None:
    sev1, low, notice = Item("page", 9, "SEV1"), Item("page", 4), Item("resolved", 7)
    handoff = Item("handoff", None)
    decided = plan(
        [sev1, low, notice, handoff],
        urgent=_urgent,
        sent=_full("page"),
        limit=5,
        window=WINDOW,
        now=NOW,
    )
    assert decided.messages == [[sev1, low, notice]]
    # Six sends in the window now (five and this page): the second oldest frees it.
    assert decided.waiting == [([handoff], NOW - timedelta(minutes=9) + WINDOW)]


def test_notices_do_not_count_against_a_low_page_but_pages_count_against_notices() -> None:
    low, notice = Item("page", 4), Item("resolved", 7)
    decided = plan(
        [low, notice], urgent=_urgent, sent=_full("resolved"), limit=5, window=WINDOW, now=NOW
    )
    assert decided.messages == [[low]]
    # Six sends in the window now (five notices and this page): the second oldest frees it.
    assert decided.waiting == [([notice], NOW - timedelta(minutes=9) + WINDOW)]


def test_notices_beyond_the_free_slots_go_as_one_digest() -> None:
    notices = [Item("resolved", n) for n in (4, 6, 7)]
    decided = plan(notices, urgent=_urgent, sent=_full("page", 4), limit=5, window=WINDOW, now=NOW)
    assert decided.messages == [notices]
    assert plan(notices, urgent=_urgent, sent=[], limit=5, window=WINDOW, now=NOW).messages == [
        [n] for n in notices
    ]


def test_texts_of_what_rides_along() -> None:
    assert [label(Item("page", 4)), label(Item("update", 6)), label(Item("handoff", None))] == [
        "#4",
        "#6 status update",
        "shift handoff",
    ]
    assert with_more("[Klaxon] SEV1 #9 PostgresDown.", ["#4", "#6", "#7 resolved"]) == (
        "[Klaxon] SEV1 #9 PostgresDown. (+3 more: #4 #6 #7 resolved)"
    )
    many = with_more("[Klaxon] SEV1 #9 PostgresDown.", [f"#{n}" for n in range(100, 300)])
    assert many.startswith("[Klaxon] SEV1 #9 PostgresDown. (+200 more: #100 #101 ")
    assert many.endswith(" more)") and gsm7_segments(many) == 2
    assert (
        notice_digest(["#4 resolved", "#6 resolved"])
        == "[Klaxon] 2 notices: #4 resolved; #6 resolved."
    )


# Console sign-in codes (kind ``code``): at once, alone, counted against nothing.


def test_a_code_goes_at_once_through_a_window_full_of_pages() -> None:
    code = Item("code", None)
    decided = plan([code], urgent=_urgent, sent=_full("page"), limit=5, window=WINDOW, now=NOW)
    assert decided.messages == [[code]] and decided.waiting == []


def test_a_code_goes_alone_after_the_pages_due_with_it() -> None:
    code, sev1, low = Item("code", None), Item("page", 9, "SEV1"), Item("page", 4)
    decided = plan([code, sev1, low], urgent=_urgent, sent=[], limit=5, window=WINDOW, now=NOW)
    assert decided.messages == [[sev1, low], [code]]


def test_codes_sent_count_against_no_page_and_no_notice() -> None:
    low, notice = Item("page", 4), Item("resolved", 7)
    decided = plan(
        [low, notice], urgent=_urgent, sent=_full("code"), limit=5, window=WINDOW, now=NOW
    )
    assert decided.messages == [[low], [notice]] and decided.waiting == []
