"""TwilioSender (the real twilio library, async client) against the fake Twilio."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.notify.twilio_client import (
    CALL_STATUS_EVENTS,
    SendResult,
    TwilioConfig,
    TwilioSender,
)
from app.phones import mask_phone
from tests.fakes.twilio_server import FakeTwilio, free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "s3cr3t-auth-token-0123456789abcdef"
FROM = "+15005550006"
TO = "+14155550123"
SMS_SID = re.compile(r"^SM[0-9a-f]{32}$")
CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")


def _config(api_url: str, **overrides: object) -> TwilioConfig:
    kwargs: dict[str, object] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from_number": FROM,
        "api_url": api_url,
        "timeout": 5.0,
    }
    kwargs.update(overrides)
    return TwilioConfig(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=FROM) as f:
        yield f


@pytest.fixture
async def sender(fake: FakeTwilio) -> AsyncIterator[TwilioSender]:
    s = TwilioSender(_config(fake.api_url))
    try:
        yield s
    finally:
        await s.aclose()


# --------------------------------------------------------------------------- success


async def test_sms_accepted(fake: FakeTwilio, sender: TwilioSender) -> None:
    result = await sender.send_sms(
        to=TO, body="FIRING: DiskFull on db-1", status_callback="https://klaxon.test/t/sms"
    )

    assert result.ok
    assert result.sid is not None and SMS_SID.match(result.sid)
    assert result.status == "queued"
    assert (result.error_code, result.error_message, result.retryable) == (None, None, False)

    (msg,) = fake.messages
    assert msg["sid"] == result.sid
    assert (msg["to"], msg["from"], msg["body"]) == (TO, FROM, "FIRING: DiskFull on db-1")
    assert msg["status_callback"] == "https://klaxon.test/t/sms"
    assert msg["auth_user"] == ACCOUNT_SID
    (req,) = fake.requests
    assert req["auth_ok"] is True
    assert req["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert set(req["form"]) == {"To", "From", "Body", "StatusCallback"}


async def test_sms_without_status_callback_sends_no_field(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    result = await sender.send_sms(to=TO, body="hi", status_callback=None)
    assert result.ok
    assert "StatusCallback" not in fake.requests[0]["form"]


async def test_call_placed_with_url_and_status_callback(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    result = await sender.place_call(
        to=TO,
        twiml_url="https://klaxon.test/t/voice?page=42",
        status_callback="https://klaxon.test/t/call-status",
    )

    assert result.ok
    assert result.sid is not None and CALL_SID.match(result.sid)
    assert result.status == "queued"
    (call,) = fake.calls
    assert call["sid"] == result.sid
    assert (call["to"], call["from"]) == (TO, FROM)
    assert call["url"] == "https://klaxon.test/t/voice?page=42"
    assert call["method"] == "POST"
    assert call["status_callback"] == "https://klaxon.test/t/call-status"
    assert call["status_callback_method"] == "POST"
    # a list parameter: the async client (aiohttp) must send it as repeated fields
    assert call["status_callback_event"] == list(CALL_STATUS_EVENTS)
    assert call["timeout"] == 30


async def test_call_without_status_callback(fake: FakeTwilio, sender: TwilioSender) -> None:
    result = await sender.place_call(to=TO, twiml_url="https://klaxon.test/v", status_callback=None)
    assert result.ok
    form = fake.requests[0]["form"]
    assert "StatusCallback" not in form and "StatusCallbackEvent" not in form


async def test_concurrent_sends_share_one_client(fake: FakeTwilio, sender: TwilioSender) -> None:
    results = await asyncio.gather(
        *(sender.send_sms(to=TO, body=f"page {i}", status_callback=None) for i in range(8))
    )
    assert all(r.ok for r in results)
    assert len({r.sid for r in results}) == 8
    msgs = await fake.wait_for_messages(8, timeout=1)
    assert sorted(m["body"] for m in msgs) == sorted(f"page {i}" for i in range(8))


async def test_library_parses_rfc2822_dates(fake: FakeTwilio, sender: TwilioSender) -> None:
    # The library's MessageInstance/CallInstance deserialize Twilio's RFC 2822 dates.
    client = sender._get_client()
    before = datetime.now(UTC).replace(microsecond=0)
    message = await client.messages.create_async(to=TO, from_=FROM, body="x")
    call = await client.calls.create_async(to=TO, from_=FROM, url="https://klaxon.test/v")
    after = datetime.now(UTC)
    for instance in (message, call):
        assert isinstance(instance.date_created, datetime)
        assert instance.date_created.tzinfo == UTC
        assert before - timedelta(seconds=1) <= instance.date_created <= after
        assert isinstance(instance.date_updated, datetime)
    assert isinstance(message.date_sent, datetime)
    assert message.num_segments == "1"
    assert message.price is None and message.error_code is None
    assert message.api_version == "2010-04-01"
    assert message.account_sid == ACCOUNT_SID


# --------------------------------------------------------------------------- permanent failures


async def test_invalid_number_is_not_retryable(fake: FakeTwilio, sender: TwilioSender) -> None:
    result = await sender.send_sms(to="+1555", body="x", status_callback=None)
    assert not result.ok
    assert result.sid is None
    assert result.error_code == 21211
    assert result.retryable is False
    assert result.error_message is not None
    assert "not a valid phone number" in result.error_message
    assert fake.messages == []


async def test_invalid_number_call(sender: TwilioSender) -> None:
    result = await sender.place_call(to="12", twiml_url="https://k.test/v", status_callback=None)
    assert (result.error_code, result.retryable) == (21211, False)


@pytest.mark.parametrize(("bucket", "code"), [("landlines", 21614), ("unsubscribed", 21610)])
async def test_landline_and_unsubscribed(
    fake: FakeTwilio, sender: TwilioSender, bucket: str, code: int
) -> None:
    getattr(fake, bucket).add(TO)
    result = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert (result.ok, result.error_code, result.retryable) == (False, code, False)
    assert len(fake.requests) == 1


async def test_wrong_token_is_20003_not_retryable(fake: FakeTwilio) -> None:
    sender = TwilioSender(_config(fake.api_url, auth_token="wrong-token"))
    try:
        result = await sender.send_sms(to=TO, body="x", status_callback=None)
    finally:
        await sender.aclose()
    assert (result.ok, result.error_code, result.retryable) == (False, 20003, False)
    assert result.error_message is not None and "401" in result.error_message
    assert fake.requests[0]["auth_ok"] is False
    assert fake.messages == []


async def test_4xx_without_twilio_code_uses_http_status(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    fake.fail_next(status=422, message="Unprocessable")
    result = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert (result.error_code, result.retryable) == (422, False)


async def test_error_message_masks_phone_numbers(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.fail_next(status=400, code=21211, message=f"The 'To' number {TO} is not valid.")
    result = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert result.error_message is not None
    assert TO not in result.error_message
    assert mask_phone(TO) in result.error_message


# --------------------------------------------------------------------------- transient failures


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)], ids=str)
@pytest.mark.parametrize("kind", ["sms", "call"])
async def test_5xx_and_429_retryable_and_sent_exactly_once(
    fake: FakeTwilio, sender: TwilioSender, status: int, code: int, kind: str
) -> None:
    fake.fail_next(3, status=status)  # enough to absorb any library-side retry
    if kind == "sms":
        result = await sender.send_sms(to=TO, body="x", status_callback=None)
    else:
        result = await sender.place_call(to=TO, twiml_url="https://k.test/v", status_callback=None)

    assert not result.ok
    assert result.retryable is True
    assert result.error_code == code
    # crucially: the library did not re-POST (no aiohttp_retry wrapper)
    assert len(fake.requests) == 1
    assert fake.messages == [] and fake.calls == []


async def test_non_json_502_uses_http_status(fake: FakeTwilio, sender: TwilioSender) -> None:
    fake.fail_next(status=502, body="<html><body>Bad Gateway</body></html>")
    result = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert (result.error_code, result.retryable) == (502, True)
    assert len(fake.requests) == 1


async def test_retry_after_transient_failure_succeeds(
    fake: FakeTwilio, sender: TwilioSender
) -> None:
    fake.fail_next(status=500)
    first = await sender.send_sms(to=TO, body="x", status_callback=None)
    second = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert first.retryable and not first.ok
    assert second.ok
    assert len(fake.requests) == 2 and len(fake.messages) == 1


async def test_slow_twilio_times_out_quickly_and_retryable(fake: FakeTwilio) -> None:
    fake.set_delay(30)
    sender = TwilioSender(_config(fake.api_url, timeout=0.3))
    started = time.monotonic()
    try:
        result = await sender.send_sms(to=TO, body="x", status_callback=None)
    finally:
        await sender.aclose()
    elapsed = time.monotonic() - started

    assert elapsed < 2.0
    assert not result.ok
    assert result.retryable is True
    assert result.error_code is None
    assert result.error_message is not None and "timed out" in result.error_message
    assert len(fake.requests) == 1


async def test_connection_refused_is_retryable() -> None:
    sender = TwilioSender(_config(f"http://127.0.0.1:{free_port()}", timeout=2.0))
    try:
        result = await sender.send_sms(to=TO, body="x", status_callback=None)
    finally:
        await sender.aclose()
    assert (result.ok, result.retryable, result.error_code) == (False, True, None)
    assert result.error_message is not None and "connection error" in result.error_message


# --------------------------------------------------------------------------- construction / hygiene


def test_constructs_without_event_loop() -> None:
    sender = TwilioSender(_config("http://127.0.0.1:9"))
    assert sender.config.timeout == 5.0


async def test_aclose_before_use_and_twice_is_fine() -> None:
    sender = TwilioSender(_config("http://127.0.0.1:9"))
    await sender.aclose()
    await sender.aclose()


async def test_usable_again_after_aclose(fake: FakeTwilio) -> None:
    async with TwilioSender(_config(fake.api_url)) as sender:
        assert (await sender.send_sms(to=TO, body="a", status_callback=None)).ok
        await sender.aclose()
        assert (await sender.send_sms(to=TO, body="b", status_callback=None)).ok
    assert [m["body"] for m in fake.messages] == ["a", "b"]


async def test_api_url_path_prefix_is_kept(fake: FakeTwilio) -> None:
    # the prefix makes the path unknown to the fake -> Twilio-style 404, proving the rewrite
    async with TwilioSender(_config(fake.api_url + "/proxy/")) as sender:
        result = await sender.send_sms(to=TO, body="x", status_callback=None)
    assert (result.error_code, result.retryable) == (20404, False)
    assert fake.requests == []  # the catch-all 404 does not record


def test_config_validation_and_repr() -> None:
    with pytest.raises(ValueError):
        TwilioConfig(ACCOUNT_SID, AUTH_TOKEN, FROM, timeout=0)
    with pytest.raises(ValueError):
        TwilioConfig(ACCOUNT_SID, AUTH_TOKEN, FROM, api_url="api.twilio.com")
    text = repr(TwilioConfig(ACCOUNT_SID, AUTH_TOKEN, FROM))
    assert AUTH_TOKEN not in text and FROM not in text


def test_mask_phone_in_logs_keeps_the_last_4_digits_as_everywhere() -> None:
    assert mask_phone("+14155550123") == "+*******0123"
    assert mask_phone("415-555-0123") == "***-***-0123"


def test_send_result_ok() -> None:
    assert SendResult("SM1", "queued", None, None, False).ok
    assert not SendResult(None, None, 21211, "bad", False).ok
    assert not SendResult(None, "queued", None, "no sid", False).ok


async def test_secrets_never_logged(
    fake: FakeTwilio, sender: TwilioSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.landlines.add("+14155550199")
    await sender.send_sms(to=TO, body="x", status_callback="https://k.test/s")
    await sender.send_sms(to="+14155550199", body="x", status_callback=None)
    await sender.place_call(to=TO, twiml_url="https://k.test/v", status_callback="https://k.test/c")
    text = caplog.text
    assert caplog.records, "expected some log output"
    basic = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    for secret in (AUTH_TOKEN, basic, TO, "+14155550199"):
        assert secret not in text
    assert mask_phone(TO) in text
