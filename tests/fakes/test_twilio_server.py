"""The fake Twilio itself: REST wire format, and webhooks signed like Twilio's."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.twilio_server import FakeTwilio, serve_asgi

ACCOUNT_SID = "AC" + "fedcba9876543210" * 2
AUTH_TOKEN = "fake-token-abcdef0123456789"
OUR_NUMBER = "+15005550006"
TO = "+14155550123"
PUBLIC_BASE = "https://klaxon.example.com"
RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")

VOICE_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather action="/voice/gather?page=7" method="POST" numDigits="1" timeout="10">'
    "<Say>Disk full on db-1. Press 1 to acknowledge.</Say></Gather>"
    "<Say>No input. Goodbye.</Say></Response>"
)


# --------------------------------------------------------------------------- receiver app


@dataclass
class Seen:
    path: str
    method: str
    url: str
    params: dict[str, str]
    signature: str | None
    valid: bool


@dataclass
class Receiver:
    """A tiny app that validates X-Twilio-Signature like Klaxon will."""

    public_base: str | None = None
    seen: list[Seen] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        params: dict[str, str] = {}
        if request.method == "POST":
            params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        url = str(request.url)
        if self.public_base is not None:
            url = self.public_base + request.url.path
            if request.url.query:
                url += "?" + request.url.query
        signature = request.headers.get("X-Twilio-Signature")
        valid = signature is not None and RequestValidator(AUTH_TOKEN).validate(
            url, params, signature
        )
        self.seen.append(Seen(request.url.path, request.method, url, params, signature, valid))
        if not valid:
            return Response("invalid signature", status_code=403)
        twiml = "<Response/>"
        if request.url.path == "/sms":
            twiml = f"<Response><Message>got: {params['Body']}</Message></Response>"
        elif request.url.path == "/voice":
            twiml = VOICE_TWIML
        elif request.url.path == "/voice/gather":
            twiml = (
                f"<Response><Say>You pressed {params['Digits']}.</Say>"
                f"<Redirect>/voice/bye</Redirect></Response>"
            )
        elif request.url.path == "/voice/bye":
            twiml = "<Response><Say>Acknowledged.</Say><Hangup/></Response>"
        return Response(twiml, media_type="application/xml")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=OUR_NUMBER) as f:
        yield f


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    r = Receiver()
    async with serve_asgi(r.app()) as base:
        yield r, base


@pytest.fixture
async def api(fake: FakeTwilio) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{fake.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}",
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    ) as client:
        yield client


async def _create_message(api: httpx.AsyncClient, **form: str) -> dict[str, Any]:
    data = {"To": TO, "From": OUR_NUMBER, "Body": "hello"} | form
    r = await api.post("/Messages.json", data=data)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _create_call(api: httpx.AsyncClient, **form: str) -> dict[str, Any]:
    data = {"To": TO, "From": OUR_NUMBER, "Url": "https://x.test/voice"} | form
    r = await api.post("/Calls.json", data=data)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


# --------------------------------------------------------------------------- REST wire format


async def test_message_json_is_twilio_shaped(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    body = await _create_message(api, StatusCallback="https://x.test/s")
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert body["account_sid"] == ACCOUNT_SID
    assert (body["to"], body["from"], body["body"]) == (TO, OUR_NUMBER, "hello")
    assert body["status"] == "queued"
    assert body["api_version"] == "2010-04-01"
    assert body["num_segments"] == "1" and body["num_media"] == "0"
    assert body["price"] is None and body["error_code"] is None
    assert body["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{body['sid']}.json"
    for key in ("date_created", "date_updated", "date_sent"):
        assert RFC2822.match(body[key]), body[key]
        assert parsedate_to_datetime(body[key]).utcoffset() is not None
    assert fake.messages[0]["status_callback"] == "https://x.test/s"

    fetched = await api.get(f"/Messages/{body['sid']}.json")
    assert fetched.status_code == 200 and fetched.json()["sid"] == body["sid"]


async def test_call_json_is_twilio_shaped(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    r = await api.post(
        "/Calls.json",
        data={
            "To": TO,
            "From": OUR_NUMBER,
            "Url": "https://x.test/voice",
            "StatusCallback": "https://x.test/cs",
            "StatusCallbackEvent": ["initiated", "answered", "completed"],
            "Timeout": "25",
        },
    )
    assert r.status_code == 201
    body = r.json()
    assert re.fullmatch(r"CA[0-9a-f]{32}", body["sid"])
    assert body["status"] == "queued" and body["direction"] == "outbound-api"
    assert body["to_formatted"] == "(415) 555-0123"
    assert RFC2822.match(body["date_created"])
    (call,) = fake.calls
    assert call["status_callback_event"] == ["initiated", "answered", "completed"]
    assert call["timeout"] == 25 and call["method"] == "POST"


@pytest.mark.parametrize(
    ("body", "segments"),
    [("a" * 160, "1"), ("a" * 161, "2"), ("€" * 80, "1"), ("ü" * 70, "1"), ("ж" * 71, "2")],
)
async def test_num_segments(api: httpx.AsyncClient, body: str, segments: str) -> None:
    assert (await _create_message(api, Body=body))["num_segments"] == segments


async def test_bad_auth_exact_body(fake: FakeTwilio) -> None:
    async with httpx.AsyncClient(auth=(ACCOUNT_SID, "nope")) as client:
        r = await client.post(
            f"{fake.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            data={"To": TO, "From": OUR_NUMBER, "Body": "x"},
        )
    async with httpx.AsyncClient(headers={"Authorization": "Bearer x"}) as client:
        unauthenticated = await client.post(
            f"{fake.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json", data={"To": TO}
        )
    assert r.status_code == 401
    assert r.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert r.headers["www-authenticate"].startswith("Basic")
    assert unauthenticated.status_code == 401
    assert fake.messages == [] and [q["auth_ok"] for q in fake.requests] == [False, False]


async def test_invalid_to_exact_body(api: httpx.AsyncClient) -> None:
    r = await api.post("/Messages.json", data={"To": "+1555", "From": OUR_NUMBER, "Body": "x"})
    assert r.status_code == 400
    assert r.json() == {
        "code": 21211,
        "message": "The 'To' number +1555 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"Body": ""}, 21602),
        ({"Body": "x" * 1601}, 21617),
        ({"To": ""}, 21604),
        ({"From": ""}, 21603),
        ({"From": "not a number!"}, 21212),
        ({"StatusCallback": "not-a-url"}, 21609),
    ],
)
async def test_message_validation(api: httpx.AsyncClient, form: dict[str, str], code: int) -> None:
    data = {"To": TO, "From": OUR_NUMBER, "Body": "x"} | form
    r = await api.post("/Messages.json", data=data)
    assert r.status_code == 400 and r.json()["code"] == code


async def test_owned_numbers_and_account_mismatch(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    fake.owned_numbers.add("+15005550001")
    r = await api.post("/Messages.json", data={"To": TO, "From": OUR_NUMBER, "Body": "x"})
    assert r.json()["code"] == 21606
    other = await api.post(
        f"{fake.api_url}/2010-04-01/Accounts/AC{'1' * 32}/Messages.json", data={"To": TO}
    )
    assert other.status_code == 404 and other.json()["code"] == 20404
    unknown = await api.get(f"{fake.api_url}/nothing/here")
    assert unknown.status_code == 404 and unknown.json()["code"] == 20404


async def test_fail_next_is_consumed_in_order(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    fake.fail_next(status=429)
    fake.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    fake.fail_next(status=502, body="<html>Bad Gateway</html>")
    r1 = await api.post("/Messages.json", data={"To": TO, "From": OUR_NUMBER, "Body": "x"})
    r2 = await api.post("/Calls.json", data={"To": TO, "From": OUR_NUMBER, "Url": "https://x/v"})
    r3 = await api.post("/Messages.json", data={"To": TO, "From": OUR_NUMBER, "Body": "x"})
    r4 = await api.post("/Messages.json", data={"To": TO, "From": OUR_NUMBER, "Body": "x"})
    assert (r1.status_code, r1.json()["code"]) == (429, 20429)
    assert (r2.status_code, r2.json()["code"]) == (400, 21610)
    assert r3.status_code == 502 and r3.headers["content-type"].startswith("text/html")
    assert r4.status_code == 201
    assert [q["status"] for q in fake.requests] == [429, 400, 502, 201]


async def test_wait_for_messages(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    waiter = asyncio.create_task(fake.wait_for_messages(2, timeout=5))
    await _create_message(api)
    assert not waiter.done()
    await _create_message(api)
    msgs = await waiter
    assert len(msgs) == 2
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError, match="expected 3 messages"):
        await fake.wait_for_messages(3, timeout=0.05)
    assert loop.time() - started < 1
    assert await fake.wait_for_calls(0) == []


async def test_set_delay_and_reset(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    fake.set_delay(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await _create_message(api)
    assert loop.time() - started >= 0.2
    fake.reset()
    assert fake.messages == [] and fake.requests == []
    started = loop.time()
    await _create_message(api)
    assert loop.time() - started < 0.2


async def test_shutdown_releases_delayed_request() -> None:
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient() as client:
        async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN) as f:
            f.set_delay(60)
            pending = asyncio.create_task(
                client.post(
                    f"{f.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
                    data={"To": TO},
                    auth=(ACCOUNT_SID, AUTH_TOKEN),
                )
            )
            await f.wait_for_requests(1)
            started = loop.time()
        assert loop.time() - started < 3
        assert (await pending).status_code == 503


# --------------------------------------------------------------------------- webhooks


async def test_message_status_callback_is_signed(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    msg = await _create_message(api, StatusCallback=f"{base}/status?page=7")

    r = await fake.send_status_callback(msg["sid"], "delivered")
    assert r.status_code == 200
    (seen,) = rec.seen
    assert seen.valid and seen.path == "/status" and seen.method == "POST"
    assert seen.params["MessageSid"] == seen.params["SmsSid"] == msg["sid"]
    assert seen.params["MessageStatus"] == seen.params["SmsStatus"] == "delivered"
    assert seen.params["AccountSid"] == ACCOUNT_SID
    assert (seen.params["From"], seen.params["To"]) == (OUR_NUMBER, TO)
    assert "ErrorCode" not in seen.params
    assert fake.message(msg["sid"])["status"] == "delivered"

    await fake.send_status_callback(msg["sid"], "undelivered")
    assert rec.seen[-1].valid and rec.seen[-1].params["ErrorCode"] == "30003"
    await fake.send_status_callback(msg["sid"], "failed", error_code=30006)
    assert rec.seen[-1].params["ErrorCode"] == "30006"


async def test_call_status_callbacks_are_signed(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    call = await _create_call(api, StatusCallback=f"{base}/call-status")
    for status in ("initiated", "ringing", "in-progress"):
        assert (await fake.send_status_callback(call["sid"], status)).status_code == 200
    await fake.send_status_callback(call["sid"], "completed", call_duration=75)
    assert all(s.valid for s in rec.seen)
    assert [s.params["CallStatus"] for s in rec.seen] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [s.params["SequenceNumber"] for s in rec.seen] == ["0", "1", "2", "3"]
    last = rec.seen[-1].params
    assert last["CallSid"] == call["sid"] and last["AccountSid"] == ACCOUNT_SID
    assert last["Direction"] == "outbound-api"
    assert (last["From"], last["To"]) == (OUR_NUMBER, TO)
    assert (last["CallDuration"], last["Duration"]) == ("75", "2")
    assert "CallDuration" not in rec.seen[0].params


async def test_get_status_callback_signs_query(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    call = await _create_call(
        api, StatusCallback=f"{base}/call-status?x=1", StatusCallbackMethod="GET"
    )
    r = await fake.send_status_callback(call["sid"], "completed")
    assert r.status_code == 200
    (seen,) = rec.seen
    assert seen.method == "GET" and seen.valid and seen.params == {}
    assert "CallStatus=completed" in seen.url


async def test_inbound_sms_signed_and_reply_readable(
    fake: FakeTwilio, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    r = await fake.inbound_sms(TO, "ACK 42", f"{base}/sms")
    assert r.status_code == 200
    assert "<Message>got: ACK 42</Message>" in r.text
    (seen,) = rec.seen
    assert seen.valid
    p = seen.params
    assert (p["From"], p["To"], p["Body"], p["NumMedia"]) == (TO, OUR_NUMBER, "ACK 42", "0")
    assert p["AccountSid"] == ACCOUNT_SID and p["MessageSid"].startswith("SM")
    assert p["SmsStatus"] == "received"
    assert fake.inbound == [p]


async def test_answer_call_with_digits(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    call = await _create_call(api, Url=f"{base}/voice?page=7")
    texts = await fake.answer_call(call["sid"], "1")
    assert len(texts) == 3
    assert "Press 1 to acknowledge" in texts[0]
    assert "You pressed 1." in texts[1]
    assert "Acknowledged." in texts[2]
    assert [s.path for s in rec.seen] == ["/voice", "/voice/gather", "/voice/bye"]
    assert all(s.valid for s in rec.seen)
    first, gather, _ = rec.seen
    assert first.params["CallStatus"] == "in-progress"
    assert first.params["Direction"] == "outbound-api"
    assert first.params["CallSid"] == call["sid"]
    assert "Digits" not in first.params
    assert gather.url == f"{base}/voice/gather?page=7"  # relative action resolved
    assert gather.params["Digits"] == "1"


async def test_answer_call_truncates_to_num_digits_and_no_input(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str]
) -> None:
    rec, base = receiver
    call = await _create_call(api, Url=f"{base}/voice")
    assert len(await fake.answer_call(call["sid"])) == 1  # nobody presses anything
    await fake.answer_call(call["sid"], "23#")
    assert rec.seen[-2].params["Digits"] == "2"


@pytest.mark.parametrize("mode", ["unsigned", "bad"])
async def test_unsigned_or_bad_signature_rejected(
    fake: FakeTwilio, api: httpx.AsyncClient, receiver: tuple[Receiver, str], mode: str
) -> None:
    rec, base = receiver
    signed, bad = (False, False) if mode == "unsigned" else (True, True)
    msg = await _create_message(api, StatusCallback=f"{base}/status")
    call = await _create_call(api, Url=f"{base}/voice")

    r = await fake.send_status_callback(msg["sid"], "sent", signed=signed, bad_signature=bad)
    assert r.status_code == 403
    r = await fake.inbound_sms(TO, "hi", f"{base}/sms", signed=signed, bad_signature=bad)
    assert r.status_code == 403
    texts = await fake.answer_call(call["sid"], "1", signed=signed, bad_signature=bad)
    assert texts == ["invalid signature"]  # stops at the 403
    assert [w.status_code for w in fake.webhooks] == [403, 403, 403]
    assert not any(s.valid for s in rec.seen)
    if mode == "unsigned":
        assert all(s.signature is None for s in rec.seen)
    else:
        assert all(s.signature for s in rec.seen)


async def test_rewrite_signs_public_url(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    rec = Receiver(public_base=PUBLIC_BASE)
    async with serve_asgi(rec.app()) as base:
        fake.rewrite_url(PUBLIC_BASE, base)
        msg = await _create_message(api, StatusCallback=f"{PUBLIC_BASE}/status")
        r = await fake.send_status_callback(msg["sid"], "delivered")
    assert r.status_code == 200
    (seen,) = rec.seen
    assert seen.valid and seen.url == f"{PUBLIC_BASE}/status"
    assert fake.webhooks[0].signed_url == f"{PUBLIC_BASE}/status"
    assert fake.webhooks[0].url == f"{base}/status"


async def test_no_status_callback_raises(fake: FakeTwilio, api: httpx.AsyncClient) -> None:
    msg = await _create_message(api)
    with pytest.raises(ValueError, match="no StatusCallback"):
        await fake.send_status_callback(msg["sid"], "delivered")
    with pytest.raises(KeyError):
        await fake.send_status_callback("SM" + "0" * 32, "delivered")
