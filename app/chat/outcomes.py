"""What a failed call to Slack means for the outbound queue: retry, when, or give up.

Decided here, where the failure is understood (as ``_from_twilio_error`` does
for Twilio): ``slack_sdk`` raises ``SlackApiError`` for an ``ok: false``
answer, a non-200 status and a 429 alike; the status and Slack's ``error``
code tell them apart. A rate limit waits its ``Retry-After``; a 5xx, Slack's
own ``fatal_error``/``internal_error`` and a network error are retried; any
other error (``channel_not_found``, ``invalid_auth``, ``not_in_channel``) is
final. The first failure of a message and a final one go on the incident's
timeline; the retries in between do not, so an outage is one line, not forty.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from app.notify.outbound import Delivered

_RETRYABLE_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}


def _retry_after(headers: Any) -> float | None:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def failed(method: str, exc: Exception, attempts: int) -> Delivered:
    """What a failed call means for the queue: retry (when and whether) or give up."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        summary = f"Slack {method}: {status} {error or 'error'}"
        if status == 429 or error == "ratelimited":
            return Delivered(
                ok=False,
                summary=summary,
                retry_after=_retry_after(exc.response.headers),
                timeline=attempts == 0,
            )
        retryable = status >= 500 or error in _RETRYABLE_ERRORS
        return Delivered(
            ok=False, summary=summary, final=not retryable, timeline=attempts == 0 or not retryable
        )
    # A timeout or a refused connection: Slack unreachable, worth a retry.
    summary = f"Slack {method}: {type(exc).__name__}, no answer"
    return Delivered(ok=False, summary=summary, timeline=attempts == 0)


# The outcomes of an incident channel's posts and archiving, alike on Slack
# (app/chat/channels.py) and Mattermost (app/chat/mattermost_channels.py).


def channel_made_already() -> Delivered:
    return Delivered(ok=True, summary="incident channel already made", timeline=False)


def channel_created(channel: str, trouble: str | None = None) -> Delivered:
    """The incident channel created (``channel`` as its chat names it);
    ``trouble`` with inviting or titling it."""
    summary = f"{channel} created" if trouble is None else f"{channel} created; {trouble}"
    return Delivered(ok=True, summary=summary)


def channel_not_made() -> Delivered:
    """A post for an incident channel that is not created yet: tried again."""
    return Delivered(ok=False, summary="incident channel not made yet", timeline=False)


def told_channel(trouble: str | None = None) -> Delivered:
    """Posted in the incident channel; ``trouble`` with what came after (the
    topic, the members), on the timeline."""
    if trouble is None:
        return Delivered(ok=True, summary="told the incident channel", timeline=False)
    return Delivered(ok=True, summary=f"told the incident channel; {trouble}")


def not_archived(channel: str | None, status: str) -> Delivered | None:
    """Why a resolved incident's channel is left alone (None: archive it)."""
    if channel is None:
        return Delivered(ok=True, summary="no incident channel to archive", timeline=False)
    if status != "resolved":
        return Delivered(ok=True, summary="incident channel kept: reopened", timeline=False)
    return None
