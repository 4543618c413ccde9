"""When a failed send is tried again: a pure function of the failure, so the
policy is stated, and tested, in one place (app/notify/dispatch.py applies it;
app/notify/outbox.py writes what it decides).

Only a temporary failure is retried (whether it is temporary is decided where
it is understood: app/notify/twilio_client.py). The wait doubles from 10 s up
to :data:`MAX_BACKOFF`. A notice gives up after its budget of attempts
(``KLAXON_SEND_ATTEMPTS``). A page never gives up over a temporary failure:
past its budget it is tried every :data:`MAX_BACKOFF` until the incident is
acknowledged or resolved (which cancels it); the timeline says so the first
time, then about once an hour (every :data:`QUIET_EVERY` tries), not every
five minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(minutes=5)
QUIET_EVERY = 12  # past its budget, a retried page's failures reach the timeline about hourly


@dataclass(frozen=True)
class Retry:
    """A failed send, due again ``at``."""

    at: datetime
    #: Past its budget of attempts: only a page is retried there.
    over_budget: bool
    #: The timeline is not told of this failure (a page past its budget, between
    #: its hourly lines).
    quiet: bool


def backoff(attempts: int) -> timedelta:
    """The wait after a send that had ``attempts`` failed tries before it."""
    return min(timedelta(seconds=10 * 2**attempts), MAX_BACKOFF)


def next_try(
    *, kind: str, attempts: int, budget: int, retryable: bool, now: datetime
) -> Retry | None:
    """When a send of ``kind`` that just failed is tried again, None to give it
    up. ``attempts`` counts the failed tries before this one."""
    attempt = attempts + 1
    if not retryable or (attempt >= budget and kind != "page"):
        return None
    over_budget = attempt >= budget
    return Retry(
        at=now + backoff(attempts),
        over_budget=over_budget,
        quiet=over_budget and (attempt - budget) % QUIET_EVERY != 0,
    )
