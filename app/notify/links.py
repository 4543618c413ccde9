"""Signed links in page SMS: ``KLAXON_PUBLIC_URL/i/42?s=…`` opens incident 42 in
the console, signed in as the responder the page went to.

The signature is an HMAC-SHA256 (``KLAXON_CONSOLE_LINK_SECRET``) over the
incident number, the responder's id and the link's expiry, so a link works
for that incident and that person only, and only until it expires
(``KLAXON_CONSOLE_LINK_VALID_HOURS`` after the page). It is cut to 96 bits to
keep the SMS short: guessing it means about 2**95 requests. Nothing is stored:
rotating the secret revokes every link sent. The console verifies it
(app/console/links.py) and opens a session of
``KLAXON_CONSOLE_LINK_SESSION_MINUTES``.

Numbers are written in base 36 so the link stays within the page's segment
budget (app/notify/texts.py fits it, dropping it only when it leaves no room).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.notify.texts import PageInfo
from app.settings import Settings

_MAC_BYTES = 12  # 96 bits, 16 characters of base64url
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _b36(value: int) -> str:
    out = ""
    while True:
        value, digit = divmod(value, 36)
        out = _DIGITS[digit] + out
        if value == 0:
            return out


def _mac(secret: str, number: int, responder_id: int, expires: int) -> str:
    message = f"klaxon-link.{number}.{responder_id}.{expires}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def links_enabled(settings: Settings) -> bool:
    """Whether pages carry a link: a secret to sign with, a public URL, not turned off."""
    return (
        settings.console_link_in_sms
        and settings.console_link_secret is not None
        and settings.public_url is not None
    )


def sign(settings: Settings, number: int, responder_id: int, now: datetime) -> str:
    """The ``s`` value of a link to incident ``number`` for ``responder_id``."""
    assert settings.console_link_secret is not None
    expires = int((now + timedelta(hours=settings.console_link_valid_hours)).timestamp())
    secret = settings.console_link_secret.get_secret_value()
    return f"{_b36(responder_id)}.{_b36(expires)}.{_mac(secret, number, responder_id, expires)}"


def page_link(settings: Settings, number: int, responder_id: int, now: datetime) -> str | None:
    """The whole link for a page SMS, or None when pages carry no link."""
    if not links_enabled(settings) or settings.public_url is None:
        return None
    base = settings.public_url.rstrip("/")
    return f"{base}/i/{number}?s={sign(settings, number, responder_id, now)}"


def with_link(
    info: PageInfo, settings: Settings | None, responder_id: int, now: datetime
) -> PageInfo:
    """``info`` for the page SMS to one responder: with their link, when pages carry one."""
    if settings is None:
        return info
    return replace(info, link=page_link(settings, info.number, responder_id, now))


@dataclass(frozen=True)
class Verified:
    responder_id: int
    expires_at: datetime


def verify(settings: Settings, number: int, signed: str, now: datetime) -> Verified | None:
    """Who a link's ``s`` value signs in for incident ``number``, or None when it
    is malformed, signed for something else, signed with another secret, or expired."""
    if settings.console_link_secret is None or len(signed) > 64:
        return None
    parts = signed.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        responder_id, expires = int(parts[0], 36), int(parts[1], 36)
    except ValueError:
        return None
    if responder_id < 0 or expires < 0:
        return None
    if parts[0] != _b36(responder_id) or parts[1] != _b36(expires):
        return None  # one spelling per number: a signed value has no look-alikes
    secret = settings.console_link_secret.get_secret_value()
    expected = _mac(secret, number, responder_id, expires)
    if not hmac.compare_digest(parts[2].encode(), expected.encode()):
        return None
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at <= now:
        return None
    return Verified(responder_id, expires_at)
