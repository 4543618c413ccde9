"""What a failed call to Mattermost's REST API v4 means for the outbound queue.

A 429 waits its ``Retry-After`` (or ``X-Ratelimit-Reset``); a 5xx or no answer
is retried; any other 4xx (a wrong channel, a bad token, a refused
permission) is final. The first failure and a final one go on the incident's
timeline, as for Slack (app/chat/outcomes.py); the summary names the call and
Mattermost's error id, never the token.
"""

from __future__ import annotations

import json

import httpx

from app.notify.outbound import Delivered


def failed(
    call: str, exc: Exception | None, answer: httpx.Response | None, attempts: int
) -> Delivered:
    if answer is None:
        summary = f"Mattermost {call}: {type(exc).__name__}, no answer"
        return Delivered(ok=False, summary=summary, timeline=attempts == 0)
    try:
        error = json.loads(answer.text).get("id", "")
    except (ValueError, AttributeError):
        error = ""
    summary = f"Mattermost {call}: {answer.status_code} {error or 'error'}"
    if answer.status_code == 429:
        wait = answer.headers.get("retry-after") or answer.headers.get("x-ratelimit-reset")
        retry_after = float(wait) if wait and wait.isdigit() else None
        return Delivered(ok=False, summary=summary, retry_after=retry_after, timeline=attempts == 0)
    final = answer.status_code < 500
    return Delivered(ok=False, summary=summary, final=final, timeline=attempts == 0 or final)


def failed_call(call: str, exc: Exception, attempts: int) -> Delivered:
    """:func:`failed` for an exception: a refusal (``raise_for_status``) or no answer."""
    if isinstance(exc, httpx.HTTPStatusError):
        return failed(call, None, exc.response, attempts)
    return failed(call, exc, None, attempts)
