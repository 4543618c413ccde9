"""A fake Twilio that speaks Twilio's wire format, in-process, over real HTTP.

Two directions:

* **REST API** (what Klaxon calls): ``POST /2010-04-01/Accounts/{sid}/Messages.json``
  and ``.../Calls.json`` (form-encoded, HTTP Basic auth), ``GET .../Messages/{sid}.json``
  and ``.../Calls/{sid}.json``.  Answers with Twilio-shaped JSON and Twilio error
  bodies (``{"code", "message", "more_info", "status"}``).
* **Webhooks** (what Twilio calls on Klaxon): status callbacks, inbound SMS and
  answering a call / pressing digits, sent with ``httpx`` as form posts signed
  with ``X-Twilio-Signature`` exactly as ``twilio.request_validator`` expects.

The server is uvicorn running as a task in the *current* event loop on
``127.0.0.1`` and a free port::

    async with FakeTwilio("AC" + "0" * 32, "token") as fake:
        sender = TwilioSender(TwilioConfig(..., api_url=fake.api_url))
        ...
        await fake.wait_for_messages(1)

Signing: the URL a webhook is signed with is the URL Klaxon gave Twilio (the
``StatusCallback``/``Url`` on the record, or the ``url`` argument).  By default it
is also the URL the request is sent to.  When Klaxon validates against a public
base URL that is not reachable in tests, map it with
``fake.rewrite_url("https://klaxon.example.com", "http://127.0.0.1:8080")``: the
request then goes to the local address but is still signed with the public URL,
like a real deployment behind a reverse proxy.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import math
import re
import secrets
import socket
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from twilio.request_validator import RequestValidator

__all__ = [
    "API_VERSION",
    "FakeTwilio",
    "WebhookExchange",
    "free_port",
    "serve_asgi",
    "twilio_error_body",
]

API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_SHORT_CODE = re.compile(r"^\d{3,6}$")
_ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_MAX_BODY = 1600

# GSM 03.38 basic character set and extension table (extension chars cost 2 septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT = frozenset("^{}\\[~]|€\f")

_DEFAULT_ERRORS: dict[int, tuple[int, str]] = {
    400: (21211, "Invalid request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "An internal server error has occurred"),
    503: (20503, "Service unavailable"),
}

_TERMINAL_CALL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


# --------------------------------------------------------------------------- helpers


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (prefer :func:`serve_asgi`, which has no race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class _TestServer(uvicorn.Server):
    """uvicorn server for tests: leaves signal handlers alone and stops promptly.

    Stock uvicorn polls ``should_exit`` every 0.1 s and sleeps/polls in 0.1 s steps
    during shutdown (~0.3 s per server); here stopping is event driven and draining
    is polled at 5 ms, bounded by ``timeout_graceful_shutdown``.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stop.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        await self.on_tick(0)
        while not self.should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 1.0)
            await self.on_tick(0)  # refreshes the Date header

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 5)
        state = self.server_state
        while state.connections or state.tasks:  # bounded polling (uvicorn has no event)
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.005)
        for task in list(state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["auto", "on", "off"] = "off",
    startup_timeout: float = 10.0,
) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn as a task in the running loop; yields ``http://host:port``.

    The listening socket is bound (port 0 unless ``port`` is given) before uvicorn
    starts, so the port is known without a race; startup is awaited by bounded
    polling of ``server.started``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan=lifespan,
        log_config=None,
        log_level="warning",
        access_log=False,
        http="h11",
        ws="none",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = _TestServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn:{port}")
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + startup_timeout
        while not server.started:
            if task.done():
                task.result()  # re-raise the startup failure
                raise RuntimeError("uvicorn exited during startup")
            if loop.time() > deadline:
                raise TimeoutError(f"uvicorn did not start within {startup_timeout}s")
            await asyncio.sleep(0.005)
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=startup_timeout)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            sock.close()


def _now_rfc2822() -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def twilio_error_body(code: int | None, message: str, status: int) -> dict[str, Any]:
    """Twilio's legacy REST error JSON (no ``code`` key when ``code`` is None)."""
    body: dict[str, Any] = {"message": message, "status": status}
    if code is not None:
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    return body


def _error(status: int, code: int | None, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
    return JSONResponse(
        twilio_error_body(code, message, status), status_code=status, headers=headers
    )


def _segments(body: str) -> int:
    if all(c in _GSM_BASIC or c in _GSM_EXT for c in body):
        septets = len(body) + sum(1 for c in body if c in _GSM_EXT)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _formatted(number: str) -> str:
    if re.fullmatch(r"\+1\d{10}", number):
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class _Failure:
    status: int
    code: int | None
    message: str | None
    body: str | None


@dataclass(frozen=True)
class WebhookExchange:
    """One request the fake sent to the app under test, and the answer."""

    method: str
    url: str  # where it was sent
    signed_url: str  # the URL the signature covers
    params: dict[str, str]
    signature: str | None
    status_code: int
    text: str
    idempotency_token: str | None = None  # I-Twilio-Idempotency-Token


# --------------------------------------------------------------------------- the fake


class FakeTwilio:
    """In-process fake Twilio.  Use as ``async with FakeTwilio(sid, token) as fake``.

    Inspection (all plain lists, appended in arrival order):

    * ``requests``: every REST request (``method``, ``path``, ``form`` (first values),
      ``form_multi``, ``auth_user``, ``auth_ok``, ``received_at`` monotonic,
      ``status`` (answered HTTP status, None while in flight)).
    * ``messages`` / ``calls``: accepted resources (``sid``, ``to``, ``from``, ``body`` /
      ``url``, ``method``, ``status_callback``, ``status_callback_event``, ``timeout``,
      ``status``, ``auth_user``, ``received_at``, ``form``).
    * ``inbound``: inbound SMS parameters sent by :meth:`inbound_sms`.
    * ``webhooks``: every :class:`WebhookExchange`.

    Behaviour knobs: :meth:`fail_next`, :meth:`set_delay`, :meth:`go_down` /
    :meth:`come_back` (connections refused in between), ``landlines`` (SMS → 21614),
    ``unsubscribed`` (SMS → 21610), ``owned_numbers`` (when non-empty, ``From`` must be
    one of them), :meth:`rewrite_url`.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        phone_number: str = "+15005550006",
        webhook_timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phone_number = phone_number
        self.webhook_timeout = webhook_timeout
        self.validator = RequestValidator(auth_token)

        self.requests: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.inbound: list[dict[str, str]] = []
        self.webhooks: list[WebhookExchange] = []
        self.landlines: set[str] = set()
        self.unsubscribed: set[str] = set()
        self.owned_numbers: set[str] = set()

        self._failures: deque[_Failure] = deque()
        self._delay = 0.0
        self._rewrites: list[tuple[str, str]] = []
        self._call_seq: dict[str, Iterator[int]] = {}
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._stack: contextlib.AsyncExitStack | None = None
        self._server: contextlib.AsyncExitStack | None = None
        self._http: httpx.AsyncClient | None = None
        self._api_url: str | None = None
        self.app = self._build_app()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeTwilio:
        self._closing.clear()
        async with contextlib.AsyncExitStack() as stack:
            self._http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=self.webhook_timeout, follow_redirects=False)
            )
            self._api_url = await self._listen(port=0)
            stack.push_async_callback(self._stop_listening)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # releases handlers stuck in set_delay()
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self._http = None
        self._api_url = None

    @property
    def api_url(self) -> str:
        """Base URL to give the Twilio client, e.g. ``http://127.0.0.1:54321``."""
        if self._api_url is None:
            raise RuntimeError("FakeTwilio is not running (use `async with`)")
        return self._api_url

    async def go_down(self) -> None:
        """Close the listener: every request is refused (connection refused, as when
        Twilio is unreachable) until :meth:`come_back`.  Requests held by
        :meth:`set_delay` are answered 503 as the server goes."""
        self._closing.set()
        await self._stop_listening()

    async def come_back(self) -> None:
        """Listen again on the same port (same :attr:`api_url`)."""
        if self._server is not None:
            return
        self._closing.clear()
        await self._listen(port=urlsplit(self.api_url).port or 0)

    async def _listen(self, *, port: int) -> str:
        async with contextlib.AsyncExitStack() as stack:
            url = await stack.enter_async_context(serve_asgi(self.app, port=port))
            self._server = stack.pop_all()
        return url

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.aclose()

    def reset(self) -> None:
        """Forget all records and knobs (for reuse across tests)."""
        self.requests.clear()
        self.messages.clear()
        self.calls.clear()
        self.inbound.clear()
        self.webhooks.clear()
        self.landlines.clear()
        self.unsubscribed.clear()
        self.owned_numbers.clear()
        self._call_seq.clear()
        self._failures.clear()
        self._delay = 0.0
        self._rewrites.clear()

    # ------------------------------------------------------------------ knobs

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 500,
        code: int | None = None,
        message: str | None = None,
        body: str | None = None,
    ) -> None:
        """Answer the next ``n`` create requests (Messages/Calls) with an error.

        ``code``/``message`` default per status (500→20500, 429→20429, 503→20503,
        401→20003, 404→20404, 400→21211); for other statuses without ``code`` the
        JSON has no ``code`` key.  ``body`` sends that raw text (``text/html``)
        instead of JSON, like a load balancer error page.
        """
        for _ in range(n):
            self._failures.append(_Failure(status, code, message, body))

    def stop_failing(self) -> int:
        """Drop the failures ``fail_next`` queued and not yet used; how many there were."""
        left = len(self._failures)
        self._failures.clear()
        return left

    def set_delay(self, seconds: float) -> None:
        """Delay every create request by ``seconds`` before answering (0 disables)."""
        self._delay = max(0.0, seconds)

    def rewrite_url(self, public_prefix: str, actual_prefix: str) -> None:
        """Send webhooks for URLs under ``public_prefix`` to ``actual_prefix`` (signed
        with the public URL)."""
        self._rewrites.append((public_prefix, actual_prefix))

    # ------------------------------------------------------------------ waiting

    async def _wait(
        self,
        what: str,
        items: list[Any],
        count: int,
        timeout: float,
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(items) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"expected {count} {what} within {timeout}s, got {len(items)}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return list(items)

    async def wait_for_messages(
        self,
        count: int,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were accepted; returns all of them."""
        return await self._wait("messages", self.messages, count, timeout)

    async def wait_for_calls(
        self,
        count: int,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` calls were accepted; returns all of them."""
        return await self._wait("calls", self.calls, count, timeout)

    async def wait_for_requests(
        self,
        count: int,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` REST requests arrived (accepted or not)."""
        return await self._wait("requests", self.requests, count, timeout)

    def _notify(self) -> None:
        self._changed.set()

    # ------------------------------------------------------------------ lookups

    def message(self, sid: str) -> dict[str, Any]:
        for m in self.messages:
            if m["sid"] == sid:
                return m
        raise KeyError(sid)

    def call(self, sid: str) -> dict[str, Any]:
        for c in self.calls:
            if c["sid"] == sid:
                return c
        raise KeyError(sid)

    # ------------------------------------------------------------------ REST app

    def _build_app(self) -> Starlette:
        base = f"/{API_VERSION}/Accounts/{{account}}"
        return Starlette(
            routes=[
                Route(f"{base}/Messages.json", self._create_message, methods=["POST"]),
                Route(f"{base}/Calls.json", self._create_call, methods=["POST"]),
                Route(f"{base}/Messages/{{sid}}.json", self._fetch_message, methods=["GET"]),
                Route(f"{base}/Calls/{{sid}}.json", self._fetch_call, methods=["GET"]),
                Route(
                    "/{path:path}",
                    self._not_found,
                    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
                ),
            ]
        )

    def _auth_user(self, request: Request) -> tuple[str | None, bool]:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None, False
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, False
        ok = secrets.compare_digest(user, self.account_sid) and secrets.compare_digest(
            password, self.auth_token
        )
        return user, ok

    async def _begin(
        self, request: Request
    ) -> tuple[dict[str, Any], dict[str, list[str]], Response | None]:
        """Record the request, apply delay/auth/account/injected failure."""
        received_at = time.monotonic()
        raw = (await request.body()).decode("utf-8", errors="replace")
        form_multi: dict[str, list[str]] = {}
        for k, v in parse_qsl(raw, keep_blank_values=True):
            form_multi.setdefault(k, []).append(v)
        user, auth_ok = self._auth_user(request)
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "form": {k: v[0] for k, v in form_multi.items()},
            "form_multi": form_multi,
            "auth_user": user,
            "auth_ok": auth_ok,
            "received_at": received_at,
            "status": None,
        }
        self.requests.append(entry)
        self._notify()

        if self._delay > 0 and request.method == "POST":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._delay)
            if self._closing.is_set():
                return entry, form_multi, _error(503, 20503, "Service unavailable")
        if not auth_ok:
            return entry, form_multi, _error(401, 20003, "Authenticate")
        if request.path_params["account"] != self.account_sid:
            return (
                entry,
                form_multi,
                _error(404, 20404, f"The requested resource {request.url.path} was not found"),
            )
        if request.method == "POST" and self._failures:
            f = self._failures.popleft()
            if f.body is not None:
                return entry, form_multi, Response(f.body, f.status, media_type="text/html")
            default_code, default_message = _DEFAULT_ERRORS.get(f.status, (None, "Error"))
            code = f.code if f.code is not None else default_code
            return entry, form_multi, _error(f.status, code, f.message or default_message)
        return entry, form_multi, None

    def _finish(self, entry: dict[str, Any], response: Response) -> Response:
        entry["status"] = response.status_code
        self._notify()
        return response

    def _check_from(self, from_: str, *, sms: bool) -> Response | None:
        if not from_:
            return (
                _error(400, 21603, "A 'From' phone number is required.")
                if sms
                else _error(400, 21213, "No 'From' number is specified")
            )
        valid = bool(_E164.match(from_)) or (
            sms and bool(_SHORT_CODE.match(from_) or _ALPHA_SENDER.match(from_))
        )
        if not valid:
            return _error(
                400,
                21212,
                f"The 'From' number {from_} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        if self.owned_numbers and from_ not in self.owned_numbers:
            if sms:
                return _error(
                    400,
                    21606,
                    f"The 'From' phone number provided ({from_}) is not a valid "
                    "message-capable Twilio phone number for this destination.",
                )
            return _error(
                400,
                21210,
                f"The source phone number provided, {from_}, is not yet verified for your "
                "account. You may only make calls from phone numbers that you've verified "
                "or purchased from Twilio.",
            )
        return None

    async def _create_message(self, request: Request) -> Response:
        entry, form_multi, early = await self._begin(request)
        if early is not None:
            return self._finish(entry, early)
        form = entry["form"]
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body")
        status_callback = form.get("StatusCallback")
        err: Response | None = None
        if not to:
            err = _error(400, 21604, "A 'To' phone number is required.")
        elif not _E164.match(to):
            err = _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if err is None:
            err = self._check_from(from_, sms=True)
        if err is None:
            if body is None or body == "":
                err = _error(400, 21602, "Message body is required.")
            elif len(body) > _MAX_BODY:
                err = _error(
                    400, 21617, "The concatenated message body exceeds the 1600 character limit."
                )
            elif status_callback is not None and not _valid_url(status_callback):
                err = _error(
                    400, 21609, f"The StatusCallback URL {status_callback} is not a valid URL."
                )
            elif to in self.unsubscribed:
                err = _error(400, 21610, "Attempt to send to unsubscribed recipient")
            elif to in self.landlines:
                err = _error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if err is not None:
            return self._finish(entry, err)
        assert body is not None
        now = _now_rfc2822()
        sid = _new_sid("SM")
        record: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": from_,
            "body": body,
            "status_callback": status_callback,
            "status_callback_method": "POST",
            "status": "queued",
            "num_segments": _segments(body),
            "date_created": now,
            "auth_user": entry["auth_user"],
            "received_at": entry["received_at"],
            "form": entry["form"],
            "form_multi": form_multi,
        }
        self.messages.append(record)
        return self._finish(entry, JSONResponse(self._message_json(record), status_code=201))

    async def _create_call(self, request: Request) -> Response:
        entry, form_multi, early = await self._begin(request)
        if early is not None:
            return self._finish(entry, early)
        form = entry["form"]
        to, from_ = form.get("To", ""), form.get("From", "")
        url, twiml = form.get("Url"), form.get("Twiml")
        status_callback = form.get("StatusCallback")
        err: Response | None = None
        if not to:
            err = _error(400, 21201, "No 'To' number is specified")
        elif not _E164.match(to):
            err = _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if err is None:
            err = self._check_from(from_, sms=False)
        if err is None:
            if url is None and twiml is None and "ApplicationSid" not in form:
                err = _error(400, 21205, "Url parameter is required.")
            elif url is not None and not _valid_url(url):
                err = _error(400, 21205, f"Url is not a valid URL: {url}")
            elif status_callback is not None and not _valid_url(status_callback):
                err = _error(400, 21205, f"StatusCallback is not a valid URL: {status_callback}")
        if err is not None:
            return self._finish(entry, err)
        now = _now_rfc2822()
        sid = _new_sid("CA")
        record: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": from_,
            "url": url,
            "twiml": twiml,
            "method": (form.get("Method") or "POST").upper(),
            "status_callback": status_callback,
            "status_callback_method": (form.get("StatusCallbackMethod") or "POST").upper(),
            "status_callback_event": form_multi.get("StatusCallbackEvent", []),
            "timeout": int(form["Timeout"]) if form.get("Timeout", "").isdigit() else 60,
            "status": "queued",
            "date_created": now,
            "auth_user": entry["auth_user"],
            "received_at": entry["received_at"],
            "form": entry["form"],
            "form_multi": form_multi,
        }
        self.calls.append(record)
        return self._finish(entry, JSONResponse(self._call_json(record), status_code=201))

    async def _fetch_message(self, request: Request) -> Response:
        entry, _, early = await self._begin(request)
        if early is not None:
            return self._finish(entry, early)
        try:
            record = self.message(request.path_params["sid"])
        except KeyError:
            return self._finish(entry, _error(404, 20404, "The requested resource was not found"))
        return self._finish(entry, JSONResponse(self._message_json(record)))

    async def _fetch_call(self, request: Request) -> Response:
        entry, _, early = await self._begin(request)
        if early is not None:
            return self._finish(entry, early)
        try:
            record = self.call(request.path_params["sid"])
        except KeyError:
            return self._finish(entry, _error(404, 20404, "The requested resource was not found"))
        return self._finish(entry, JSONResponse(self._call_json(record)))

    async def _not_found(self, request: Request) -> Response:
        return _error(404, 20404, f"The requested resource {request.url.path} was not found")

    def _message_json(self, r: dict[str, Any]) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{r['sid']}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": r["body"],
            "date_created": r["date_created"],
            "date_sent": r["date_created"],
            "date_updated": _now_rfc2822(),
            "direction": "outbound-api",
            "error_code": r.get("error_code"),
            "error_message": None,
            "from": r["from"],
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": str(r["num_segments"]),
            "price": None,
            "price_unit": "USD",
            "sid": r["sid"],
            "status": r["status"],
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": r["to"],
            "uri": f"{uri}.json",
        }

    def _call_json(self, r: dict[str, Any]) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{r['sid']}"
        sub = ("notifications", "recordings", "payments", "events", "siprec", "streams")
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": r["date_created"],
            "date_updated": _now_rfc2822(),
            "direction": "outbound-api",
            "duration": r.get("duration"),
            "end_time": None,
            "forwarded_from": None,
            "from": r["from"],
            "from_formatted": _formatted(r["from"]),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": r["sid"],
            "start_time": None,
            "status": r["status"],
            "subresource_uris": {name: f"{uri}/{name.capitalize()}.json" for name in sub},
            "to": r["to"],
            "to_formatted": _formatted(r["to"]),
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    # ------------------------------------------------------------------ webhooks

    def _route(self, url: str) -> str:
        for public, actual in self._rewrites:
            if url.startswith(public):
                return actual + url[len(public) :]
        return url

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """``X-Twilio-Signature`` for a request to ``url`` with form ``params``."""
        return str(self.validator.compute_signature(url, dict(params)))

    async def post_webhook(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        method: str = "POST",
        signed: bool = True,
        bad_signature: bool = False,
        idempotency_token: str | None = None,
    ) -> httpx.Response:
        """Send a Twilio-style webhook request to ``url`` (signed with ``url``).

        ``signed=False`` omits ``X-Twilio-Signature``; ``bad_signature=True`` sends one
        computed with the wrong auth token.  GET puts the params in the query string
        and signs the full URL with no params, like Twilio.

        Like Twilio, every webhook carries an ``I-Twilio-Idempotency-Token`` of its
        own, which its retries repeat (``resend``); ``idempotency_token`` sets it,
        and ``""`` leaves the header out. The signature does not cover it.
        """
        if self._http is None:
            raise RuntimeError("FakeTwilio is not running (use `async with`)")
        method = method.upper()
        form = {k: str(v) for k, v in params.items()}
        if method == "GET":
            sep = "&" if urlsplit(url).query else "?"
            signed_url = url + sep + urlencode(form) if form else url
            sign_params: dict[str, str] = {}
        else:
            signed_url, sign_params = url, form
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "Cache-Control": "max-age=259200",
        }
        token = str(uuid.uuid4()) if idempotency_token is None else idempotency_token
        if token:
            headers["I-Twilio-Idempotency-Token"] = token
        signature: str | None = None
        if signed:
            validator = (
                RequestValidator(self.auth_token + "-wrong") if bad_signature else (self.validator)
            )
            signature = str(validator.compute_signature(signed_url, sign_params))
            headers["X-Twilio-Signature"] = signature
        target = self._route(signed_url)
        if method == "GET":
            response = await self._http.get(target, headers=headers)
        else:
            response = await self._http.request(method, target, data=form, headers=headers)
        self.webhooks.append(
            WebhookExchange(
                method=method,
                url=target,
                signed_url=signed_url,
                params=form,
                signature=signature,
                status_code=response.status_code,
                text=response.text,
                idempotency_token=token or None,
            )
        )
        return response

    async def resend(
        self, exchange: WebhookExchange, *, idempotency_token: str | None = None
    ) -> httpx.Response:
        """Send a webhook again, still validly signed: with its own idempotency
        token, as Twilio retries it (the default), or with another one or none
        (``""``), as whoever captured the request could replay it."""
        if idempotency_token is None:
            idempotency_token = exchange.idempotency_token or ""
        return await self.post_webhook(
            exchange.signed_url,
            {} if exchange.method == "GET" else exchange.params,  # a GET's are in its URL
            method=exchange.method,
            idempotency_token=idempotency_token,
        )

    async def send_status_callback(
        self,
        sid: str,
        status: str,
        *,
        error_code: int | None = None,
        call_duration: int | None = None,
        extra: Mapping[str, str] | None = None,
        signed: bool = True,
        bad_signature: bool = False,
    ) -> httpx.Response:
        """POST a status callback for a message (``SM...``) or call (``CA...``) to the
        record's ``StatusCallback``, with exactly Twilio's field names.

        Messages: ``failed``/``undelivered`` carry ``ErrorCode`` (default 30008/30003).
        Calls: terminal statuses carry ``CallDuration`` (``Duration`` in minutes when
        completed).  Updates the record's ``status``.
        """
        params: dict[str, str]
        if sid.startswith("SM") or sid.startswith("MM"):
            rec = self.message(sid)
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "From": rec["from"],
                "MessageSid": sid,
                "MessageStatus": status,
                "SmsSid": sid,
                "SmsStatus": status,
                "To": rec["to"],
            }
            if error_code is None and status in ("failed", "undelivered"):
                error_code = 30003 if status == "undelivered" else 30008
            if error_code is not None:
                params["ErrorCode"] = str(error_code)
            if status == "delivered":
                params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
        else:
            rec = self.call(sid)
            params = {
                "AccountSid": self.account_sid,
                "ApiVersion": API_VERSION,
                "CallSid": sid,
                "CallStatus": status,
                "CallbackSource": "call-progress-events",
                "Called": rec["to"],
                "Caller": rec["from"],
                "Direction": "outbound-api",
                "From": rec["from"],
                "SequenceNumber": str(next(self._call_seq.setdefault(sid, itertools.count()))),
                "Timestamp": _now_rfc2822(),
                "To": rec["to"],
            }
            if status in _TERMINAL_CALL_STATUSES:
                duration = call_duration if call_duration is not None else 0
                params["CallDuration"] = str(duration)
                if status == "completed":
                    params["Duration"] = str(math.ceil(duration / 60))
                    rec["duration"] = str(duration)
            if error_code is not None:
                params["ErrorCode"] = str(error_code)
        if extra:
            params.update(extra)
        url = rec.get("status_callback")
        if not url:
            raise ValueError(f"{sid} has no StatusCallback")
        rec["status"] = status
        if error_code is not None:
            rec["error_code"] = error_code
        return await self.post_webhook(
            url,
            params,
            method=rec.get("status_callback_method") or "POST",
            signed=signed,
            bad_signature=bad_signature,
        )

    async def inbound_sms(
        self,
        from_: str,
        body: str,
        url: str,
        *,
        to: str | None = None,
        extra: Mapping[str, str] | None = None,
        signed: bool = True,
        bad_signature: bool = False,
    ) -> httpx.Response:
        """POST an inbound SMS webhook to ``url``; returns the response (TwiML reply)."""
        sid = _new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to or self.phone_number,
        }
        if extra:
            params.update(extra)
        self.inbound.append(params)
        return await self.post_webhook(url, params, signed=signed, bad_signature=bad_signature)

    async def answer_call(
        self,
        call_sid: str,
        digits: str | Sequence[str] | None = None,
        *,
        signed: bool = True,
        bad_signature: bool = False,
        max_hops: int = 5,
    ) -> list[str]:
        """Answer a call: fetch its ``Url`` and walk the TwiML like Twilio would.

        Each ``<Gather>`` consumes the next entry of ``digits`` (a ``str`` is one
        entry), truncated to ``numDigits`` / cut at ``finishOnKey``, POSTed as
        ``Digits`` to the Gather ``action`` (resolved against the current document
        URL; the document itself when absent).  ``<Redirect>`` is followed.  Stops at
        a Gather with no digits left, a non-2xx answer, or TwiML with neither.
        Returns the response texts in order (see ``webhooks`` for status codes).
        """
        rec = self.call(call_sid)
        if not rec.get("url"):
            raise ValueError(f"{call_sid} has no Url")
        queue: list[str] = [digits] if isinstance(digits, str) else list(digits or [])
        base = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call_sid,
            "CallStatus": "in-progress",
            "Called": rec["to"],
            "Caller": rec["from"],
            "Direction": "outbound-api",
            "From": rec["from"],
            "To": rec["to"],
        }
        rec["status"] = "in-progress"
        url: str = rec["url"]
        method: str = rec.get("method") or "POST"
        params: dict[str, str] = dict(base)
        texts: list[str] = []
        for _ in range(max_hops + 1):
            response = await self.post_webhook(
                url, params, method=method, signed=signed, bad_signature=bad_signature
            )
            texts.append(response.text)
            if not response.is_success:
                break
            try:
                root = ET.fromstring(response.text)
            except ET.ParseError:
                break
            gather = root.find(".//Gather")
            redirect = root.find("Redirect")
            if gather is not None:
                if not queue:
                    break
                pressed = queue.pop(0)
                finish = gather.get("finishOnKey", "#")
                if finish and finish in pressed:
                    pressed = pressed[: pressed.index(finish)]
                num = gather.get("numDigits")
                if num and num.isdigit():
                    pressed = pressed[: int(num)]
                url = urljoin(url, gather.get("action") or url)
                method = (gather.get("method") or "POST").upper()
                params = {**base, "Digits": pressed, "msg": "Gather End"}
            elif redirect is not None and (redirect.text or "").strip():
                url = urljoin(url, (redirect.text or "").strip())
                method = (redirect.get("method") or "POST").upper()
                params = dict(base)
            else:
                break
        return texts
