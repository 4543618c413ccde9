"""Recording what became of a send: the rows' new state (through the outbox's
state machine, app/notify/outbox.py), the timeline's lines and the counters.

A send that failed is retried or given up by the pure policy of
app/notify/retry.py; this module says so on the timeline in people's words.
Twilio has the request once it is sent, so a database that is unreachable
when the outcome is to be recorded is tried again for as long as the claim
holds (:func:`record_while_claimed`): giving up would let the claim expire and
the page go out a second time (the window app/notify/dispatch.py names).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from app.db import is_unavailable
from app.metrics import NOTIFICATIONS
from app.notify import outbox
from app.notify.outbox import Claimed
from app.notify.retry import MAX_BACKOFF, next_try
from app.notify.twilio_client import SendResult
from app.runtime import Runtime
from app.settings import Settings
from app.timeline import event_row
from app.timeline import record as record_lines
from app.transaction import unit_of_work

# The dispatcher's logger: its lines read as the sending they are part of.
log = logging.getLogger("app.notify.dispatch")
_RECORD_RETRY_FIRST, _RECORD_RETRY_MAX = 0.5, 5.0  # seconds


def on_incidents(items: list[Claimed]) -> list[tuple[int, Claimed]]:
    """The items about an incident, with its number (for their timeline events)."""
    return [(i.incident_number, i) for i in items if i.incident_number is not None]


def _reason(result: SendResult) -> str:
    """Why a send failed, for the timeline: Twilio's code and message; a timeout or
    a connection error has no code, only its message."""
    return " ".join(str(part) for part in (result.error_code, result.error_message) if part)


async def record_while_claimed(
    runtime: Runtime, message: list[Claimed], result: SendResult, channel: str
) -> None:
    """Record a send's outcome. Twilio has the request now, so an unreachable
    database is tried again for as long as the claim holds: giving up would let
    the claim expire and the page go out a second time."""
    lease_until = min(m.lease_until for m in message)
    # A try may wait out a connect timeout; it must end before the lease does.
    margin = timedelta(seconds=runtime.settings.db_connect_timeout)
    pause = _RECORD_RETRY_FIRST
    while True:
        try:
            await record(runtime, message, result, channel)
            return
        except Exception as exc:
            later = runtime.clock.now() + timedelta(seconds=pause) + margin
            if not is_unavailable(exc) or later >= lease_until:
                raise
        log.warning("sending: database unavailable; recording the outcome again")
        await asyncio.sleep(pause)
        pause = min(pause * 2, _RECORD_RETRY_MAX)


async def record(
    runtime: Runtime, message: list[Claimed], result: SendResult, channel: str
) -> None:
    """Record a send's outcome for every item of its message, and the timeline's lines."""
    now = runtime.clock.now()
    first = message[0]
    what = "Call" if channel == "voice" else ("Bundled SMS" if len(message) > 1 else "SMS")
    timeline: list[dict[str, Any]] = []
    outcomes: Counter[str] = Counter()
    async with unit_of_work(runtime) as uow:
        session = uow.session
        if result.ok:
            ids = [m.id for m in message]
            await outbox.mark_sent(session, ids, sid=result.sid, delivery=result.status, now=now)
            outcomes["sent"] = len(message)
            for number, m in on_incidents(message):
                sent = f"{what} {'page' if m.kind == 'page' else m.kind + ' notice'} sent to "
                timeline.append(
                    event_row(
                        number,
                        "notified",
                        f"{sent}{m.responder_name}",
                        at=now,
                        actor="klaxon",
                        data={"notification": m.id, "channel": channel, "sid": result.sid},
                    )
                )
        else:
            # Each item of a bundle counts its own attempts: a page that joined the
            # bundle late is not given up with one that has had all of its tries.
            for m in message:
                retry_at, text, told = _failed(runtime.settings, m, result, now)
                await outbox.mark_failed(
                    session,
                    m.id,
                    retry_at=retry_at,
                    error_code=result.error_code,
                    error_message=result.error_message,
                    now=now,
                )
                outcomes["retrying" if retry_at else "failed"] += 1
                if m.incident_number is not None and told:
                    timeline.append(
                        event_row(
                            m.incident_number,
                            "notify_failed",
                            f"{what} to {m.responder_name} {text}",
                            at=now,
                            actor="klaxon",
                            data={"notification": m.id, "code": result.error_code},
                        )
                    )
        await record_lines(session, timeline)
    for outcome, count in outcomes.items():
        NOTIFICATIONS.labels(channel, outcome).inc(count)
        if outcome != "sent":
            log.warning("%s to %s: %s (%s)", what, first.responder_name, outcome, result.error_code)


def _failed(
    settings: Settings, m: Claimed, result: SendResult, now: datetime
) -> tuple[datetime | None, str, bool]:
    """A failed send of ``m``: when it is tried again (None: failed for good),
    what the timeline says, and whether it says it this time."""
    retry = next_try(
        kind=m.kind,
        attempts=m.attempts,
        budget=settings.send_attempts,
        retryable=result.retryable,
        now=now,
    )
    if retry is None:
        return None, f"failed for good: {_reason(result)}", True
    if retry.over_budget:
        text = (
            f"failed {m.attempts + 1} times ({_reason(result)}); a page is retried,"
            f" at most {MAX_BACKOFF.seconds // 60} minutes apart, until the"
            f" incident is acknowledged, next at {retry.at:%H:%M:%S} UTC"
        )
    else:
        text = f"failed ({_reason(result)}); retrying at {retry.at:%H:%M:%S} UTC"
    return retry.at, text, not retry.quiet
