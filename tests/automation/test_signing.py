"""Signatures checked by the ``standardwebhooks`` library itself, not by our code."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.automation.signing import BadSecret, secret_bytes, signed_headers

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = '{"options": {"incident": "42", "title": "caf\\u00e9 \\"down\\""}}'


def test_signed_headers_verify_with_the_standardwebhooks_library() -> None:
    headers = signed_headers(secret_bytes(SECRET), "klaxon-42-restart", BODY)
    assert Webhook(SECRET).verify(BODY, headers)["options"]["incident"] == "42"
    assert headers["Idempotency-Key"] == headers["webhook-id"] == "klaxon-42-restart"


def test_a_changed_body_id_or_secret_fails_verification() -> None:
    headers = signed_headers(secret_bytes(SECRET), "klaxon-42-restart", BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace("42", "43"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, {**headers, "webhook-id": "klaxon-43-restart"})
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(BODY, headers)


def test_a_stale_timestamp_is_refused_by_the_receiver() -> None:
    stale = int(time.time()) - 3600
    headers = signed_headers(secret_bytes(SECRET), "klaxon-42-restart", BODY, timestamp=stale)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY, headers)


def test_a_secret_that_is_not_base64_of_16_bytes_is_refused() -> None:
    with pytest.raises(BadSecret):
        secret_bytes("whsec_c2hvcnQ=")  # "short"


def test_klaxon_refuses_to_start_with_a_malformed_signing_secret() -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match="KLAXON_AUTOMATION_SECRET must be whsec_"):
        Settings(automation_secret="c2VjcmV0LXdpdGhvdXQtcHJlZml4LTMyYnl0ZXM=")
    settings = Settings(automation_secret=SECRET)
    assert settings.automation_secret is not None
    assert "whsec" not in repr(settings)  # a SecretStr: never in a log line
