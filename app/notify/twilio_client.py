"""Sending SMS and voice pages through the official ``twilio`` library's async client.

Known twilio 9.x pitfalls handled here:

* There is no base-URL setting: every resource URL is built from hard-coded
  ``https://api.twilio.com``.  :class:`_RebasedHttpClient` (an
  ``AsyncTwilioHttpClient`` subclass) rewrites scheme and host of each request
  URL to :attr:`TwilioConfig.api_url`, keeping path and query.
* ``AsyncTwilioHttpClient`` opens an ``aiohttp.ClientSession`` in its
  constructor, which needs a running loop, so the client is built lazily on
  first use (inside the loop) and closed by :meth:`TwilioSender.aclose`.
* The ``timeout`` given to the client constructor is stored but never used:
  the library passes ``timeout=None`` per request, which aiohttp turns into
  ``ClientTimeout(total=None)`` -- no timeout at all, overriding the session
  default.  The subclass substitutes the configured timeout.
* ``max_retries`` wraps the session in ``aiohttp_retry.RetryClient`` that
  re-POSTs on every 5xx (a page sent twice).  It is left unset (``None``), so
  no retry wrapper exists; retrying is the caller's decision, guided by
  :attr:`SendResult.retryable`.
* Errors arrive as ``TwilioRestException`` (legacy JSON: ``code``/``message``)
  or ``TwilioServiceException`` (RFC 9457 bodies); both carry ``status`` and
  ``code``.  Network failures are raw aiohttp / asyncio exceptions.
* ``Client(environment={})`` falls back to ``os.environ`` (empty dict is
  falsy), letting ``TWILIO_EDGE``/``TWILIO_REGION``/``TWILIO_AUTH_TOKEN``
  leak in; a non-empty private mapping is passed instead.
* The stock client uses ``aiohttp.BasicAuth``, deprecated in aiohttp 3.14
  (a ``DeprecationWarning`` per request); the Authorization header is built here.

Auth tokens and full phone numbers are never logged: numbers are masked by
:func:`mask_phone` (``app.phones``: every digit but the last 4 hidden, as in
API answers), and digit runs in Twilio's error messages are masked too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from app.phones import mask_phone

__all__ = [
    "CALL_STATUS_EVENTS",
    "RETRYABLE_TWILIO_CODES",
    "SendResult",
    "TwilioConfig",
    "TwilioSender",
]

logger = logging.getLogger("klaxon.notify.twilio")
_http_logger = logging.getLogger("klaxon.notify.twilio.http")

#: Call progress events Klaxon subscribes to.
CALL_STATUS_EVENTS: Final[tuple[str, ...]] = ("initiated", "ringing", "answered", "completed")

#: Twilio error codes that mean "try again later" even when the HTTP status is a 4xx:
#: 20429 too many requests, 14107 SMS send rate limit exceeded, 21611 From-number
#: queue full.
RETRYABLE_TWILIO_CODES: Final[frozenset[int]] = frozenset({20429, 14107, 21611})

_DIGIT_RUN = re.compile(r"\+?\d[\d\- ]{4,}\d")


def _redact(text: str) -> str:
    return _DIGIT_RUN.sub(lambda m: mask_phone(m.group(0)), text)


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str
    api_url: str = "https://api.twilio.com"
    timeout: float = 10.0
    #: Seconds Twilio lets an outbound call ring before giving up (``Timeout``).
    ring_timeout: int = 30

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0")
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"api_url must be an absolute http(s) URL, got {self.api_url!r}")

    def __repr__(self) -> str:  # never show the token
        return (
            f"TwilioConfig(account_sid={self.account_sid!r}, auth_token='***', "
            f"from_number={mask_phone(self.from_number)!r}, api_url={self.api_url!r}, "
            f"timeout={self.timeout!r}, ring_timeout={self.ring_timeout!r})"
        )


@dataclass(frozen=True)
class SendResult:
    sid: str | None
    status: str | None
    error_code: int | None
    error_message: str | None
    retryable: bool

    @property
    def ok(self) -> bool:
        return self.sid is not None and self.error_code is None and self.error_message is None

    @classmethod
    def accepted(cls, sid: str | None, status: str | None) -> SendResult:
        if not sid:
            return cls(None, status, None, "Twilio accepted the request but returned no sid", False)
        return cls(sid, status, None, None, False)

    @classmethod
    def failed(cls, code: int | None, message: str, *, retryable: bool) -> SendResult:
        return cls(None, None, code, _redact(message), retryable)


class _RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """``AsyncTwilioHttpClient`` that sends every request to ``api_url`` with a real timeout.

    Must be constructed inside a running event loop (aiohttp session).
    """

    def __init__(self, *, api_url: str, timeout: float) -> None:
        # max_retries=None: no aiohttp_retry wrapper, so a 5xx is never re-POSTed.
        super().__init__(
            pool_connections=True, timeout=timeout, logger=_http_logger, max_retries=None
        )
        base = urlsplit(api_url)
        self._scheme = base.scheme
        self._netloc = base.netloc
        self._prefix = base.path.rstrip("/")

    def rebase(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, parts.fragment)
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (library signature)
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        # Reimplemented (rather than delegating to super().request) so that the
        # response is always released (``async with``) even when the body read
        # times out, and so the configured timeout actually applies.
        effective = timeout if timeout is not None else self.timeout
        all_headers = dict(headers or {})
        if auth is not None:
            # aiohttp >= 3.14 deprecates BasicAuth (DeprecationWarning on every request
            # from the stock client), so the header is built directly.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            all_headers["Authorization"] = f"Basic {token}"
        kwargs: dict[str, Any] = {
            "method": method.upper(),
            "url": self.rebase(url),
            "params": params,
            "data": data,
            "headers": all_headers,
            "timeout": aiohttp.ClientTimeout(total=effective),
            "allow_redirects": allow_redirects,
        }
        # logs method, URL and headers except Authorization; never the form body
        self.log_request(kwargs)
        session = self.session
        assert session is not None
        async with session.request(**kwargs) as response:
            text = await response.text()
            self.log_response(response.status, response)
            return TwilioResponse(response.status, text, response.headers)


class TwilioSender:
    """Sends SMS and places calls; never raises for Twilio, HTTP or network failures."""

    def __init__(self, config: TwilioConfig) -> None:
        self._config = config
        self._client: Any = None
        self._http: _RebasedHttpClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def config(self) -> TwilioConfig:
        return self._config

    def _get_client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None:
            if loop is not self._loop:
                raise RuntimeError("TwilioSender is bound to the event loop it was first used in")
            return self._client
        cfg = self._config
        http = _RebasedHttpClient(api_url=cfg.api_url, timeout=cfg.timeout)
        self._client = Client(
            username=cfg.account_sid,
            password=cfg.auth_token,
            account_sid=cfg.account_sid,
            http_client=http,
            # Non-empty on purpose: an empty mapping makes twilio fall back to os.environ.
            environment={"KLAXON_TWILIO_ISOLATED_ENV": "1"},
        )
        self._http = http
        self._loop = loop
        return self._client

    async def send_sms(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        kwargs: dict[str, Any] = {"to": to, "from_": self._config.from_number, "body": body}
        if status_callback is not None:
            kwargs["status_callback"] = status_callback

        async def create() -> Any:
            return await self._get_client().messages.create_async(**kwargs)

        return await self._send("sms", to, create)

    async def place_call(
        self, *, to: str, twiml_url: str, status_callback: str | None
    ) -> SendResult:
        kwargs: dict[str, Any] = {
            "to": to,
            "from_": self._config.from_number,
            "url": twiml_url,
            "method": "POST",
            "timeout": self._config.ring_timeout,
        }
        if status_callback is not None:
            kwargs["status_callback"] = status_callback
            kwargs["status_callback_method"] = "POST"
            kwargs["status_callback_event"] = list(CALL_STATUS_EVENTS)

        async def create() -> Any:
            return await self._get_client().calls.create_async(**kwargs)

        return await self._send("call", to, create)

    async def _send(self, kind: str, to: str, create: Any) -> SendResult:
        masked = mask_phone(to)
        try:
            instance = await create()
        except (TwilioRestException, TwilioServiceException) as exc:
            result = _from_twilio_error(exc)
        except TimeoutError:
            result = SendResult.failed(
                None,
                f"timed out after {self._config.timeout:g}s waiting for Twilio",
                retryable=True,
            )
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            result = SendResult.failed(None, f"invalid Twilio API URL: {exc}", retryable=False)
        except (aiohttp.ClientError, OSError) as exc:
            result = SendResult.failed(
                None, f"connection error: {type(exc).__name__}: {exc}", retryable=True
            )
        except json.JSONDecodeError as exc:
            # 2xx with a body that is not JSON: Twilio probably accepted it; do not
            # resend (a duplicate page is worse than relying on escalation).
            result = SendResult.failed(
                None, f"unparseable Twilio response: {exc.msg}", retryable=False
            )
        except TwilioException as exc:
            result = SendResult.failed(None, f"twilio error: {exc}", retryable=False)
        else:
            result = SendResult.accepted(
                _str_or_none(getattr(instance, "sid", None)),
                _str_or_none(getattr(instance, "status", None)),
            )
        if result.ok:
            logger.info(
                "twilio %s accepted to=%s sid=%s status=%s", kind, masked, result.sid, result.status
            )
        else:
            logger.warning(
                "twilio %s failed to=%s code=%s retryable=%s: %s",
                kind,
                masked,
                result.error_code,
                result.retryable,
                result.error_message,
            )
        return result

    async def aclose(self) -> None:
        http, self._http, self._client, self._loop = self._http, None, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> TwilioSender:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _from_twilio_error(exc: TwilioRestException | TwilioServiceException) -> SendResult:
    status = int(exc.status) if exc.status is not None else 0
    code = int(exc.code) if exc.code is not None else status
    if isinstance(exc, TwilioServiceException):
        message = exc.title + (f": {exc.detail}" if exc.detail else "")
    else:
        message = str(exc.msg)
    retryable = status == 429 or status >= 500 or status == 408 or code in RETRYABLE_TWILIO_CODES
    return SendResult.failed(code, f"HTTP {status}: {message}", retryable=retryable)
