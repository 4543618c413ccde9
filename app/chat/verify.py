"""Checking that a request really comes from Slack.

Slack signs every slash command and button press: ``X-Slack-Signature`` is
``v0=`` + HMAC-SHA256 of ``v0:{X-Slack-Request-Timestamp}:{body}`` under the
app's signing secret. ``slack_sdk``'s ``SignatureVerifier`` does exactly that,
compares in constant time and refuses timestamps more than 5 minutes from its
clock; it is given Klaxon's clock, so tests move time as they do for paging.

A request whose signature is valid can still come twice: Slack retries one it
got no timely answer to (``X-Slack-Retry-Num``), and a captured request can be
replayed within the 5 minutes. Its body is what the signature covers and it
holds a ``trigger_id`` unique to each command or click, so a hash of the body
recorded in the transaction that acts (app/replies/replays.py, the same
memory as Twilio's callbacks) makes the second one act no more.
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier

from app.clock import Clock
from app.errors import Unauthorized
from app.http import read_body

FORM_LIMIT = 64 * 1024  # a slash command or a block action is a few kilobytes


class _KlaxonClock(SlackClock):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


async def signed_body(request: Request, secret: str | None, clock: Clock) -> bytes:
    """The body of a request Slack signed with ``secret`` within 5 minutes of
    ``clock``; else a 401 that says which check failed (never the secret)."""
    if not secret:
        raise Unauthorized("Slack is not configured here: KLAXON_SLACK_SIGNING_SECRET is unset")
    timestamp = request.headers.get("x-slack-request-timestamp")
    signature = request.headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise Unauthorized("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    body = await read_body(request, FORM_LIMIT)
    verifier = SignatureVerifier(secret, clock=_KlaxonClock(clock))
    if not verifier.is_valid(body, timestamp, signature):
        raise Unauthorized("invalid Slack signature, or a timestamp more than 5 minutes from now")
    return body


def replay_key(body: bytes) -> str:
    """What identifies one command or click across Slack's retries."""
    return hashlib.sha256(b"slack:" + body).hexdigest()
