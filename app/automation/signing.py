"""Standard Webhooks signatures (https://www.standardwebhooks.com): what every
action and outgoing webhook carries, so its receiver can tell it came from this
Klaxon and is not a replay.

``webhook-id`` is the message's idempotency key (the same on every retry, so a
receiver drops a second delivery; also sent as ``Idempotency-Key``),
``webhook-timestamp`` the Unix second the request leaves, and
``webhook-signature`` ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under
the secret (``whsec_`` + base64, as the spec's libraries take it). The HMAC is a
few lines of the standard library; the tests verify it with the
``standardwebhooks`` package itself, so a mistake here cannot agree with itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

SECRET_PREFIX = "whsec_"


class BadSecret(ValueError):
    """The signing secret is not ``whsec_`` + base64."""


def secret_bytes(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "==", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BadSecret("the signing secret must be whsec_ followed by base64") from exc
    if len(key) < 16:
        raise BadSecret("the signing secret must hold at least 16 bytes")
    return key


def signed_headers(
    key: bytes, message_id: str, body: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers, and ``Idempotency-Key``."""
    when = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(key, f"{message_id}.{when}.{body}".encode(), hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": when,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
        "Idempotency-Key": message_id,
    }
