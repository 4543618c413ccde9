"""The retry policy of a failed SMS or call (app/notify/retry.py), as a pure
function: when it is tried again, when it is given up, when the timeline hears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.notify.retry import MAX_BACKOFF, QUIET_EVERY, backoff, next_try

NOW = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
BUDGET = 5


def test_the_wait_doubles_from_ten_seconds_up_to_five_minutes() -> None:
    waits = [backoff(attempts).total_seconds() for attempts in range(7)]
    assert waits == [10, 20, 40, 80, 160, 300, 300]
    assert timedelta(minutes=5) == MAX_BACKOFF


def test_a_temporary_failure_within_the_budget_is_retried_after_the_backoff() -> None:
    retry = next_try(kind="resolved", attempts=2, budget=BUDGET, retryable=True, now=NOW)
    assert retry is not None
    assert retry.at == NOW + timedelta(seconds=40)
    assert not retry.over_budget and not retry.quiet


def test_a_failure_that_is_not_temporary_is_given_up_at_once_even_for_a_page() -> None:
    assert next_try(kind="page", attempts=0, budget=BUDGET, retryable=False, now=NOW) is None


def test_a_notice_is_given_up_on_the_last_attempt_of_its_budget() -> None:
    last = BUDGET - 1  # this failure is the budget's last attempt
    assert next_try(kind="update", attempts=last - 1, budget=BUDGET, retryable=True, now=NOW)
    assert next_try(kind="update", attempts=last, budget=BUDGET, retryable=True, now=NOW) is None


def test_a_page_past_its_budget_is_retried_at_most_five_minutes_apart_and_told_hourly() -> None:
    told = []
    for attempts in range(BUDGET - 1, BUDGET - 1 + 2 * QUIET_EVERY + 1):
        retry = next_try(kind="page", attempts=attempts, budget=BUDGET, retryable=True, now=NOW)
        assert retry is not None, f"a page is never given up (attempt {attempts + 1})"
        assert retry.over_budget
        assert retry.at == NOW + min(backoff(attempts), MAX_BACKOFF)
        if not retry.quiet:
            told.append(attempts + 1)
    assert backoff(BUDGET) == MAX_BACKOFF  # from there on, every five minutes
    # Once when it runs out of budget, then every QUIET_EVERY tries (an hour at 5 min).
    assert told == [BUDGET, BUDGET + QUIET_EVERY, BUDGET + 2 * QUIET_EVERY]
