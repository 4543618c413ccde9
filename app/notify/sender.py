"""Who sends: Twilio when configured, else a logger a person can watch locally."""

from __future__ import annotations

import itertools
import logging
from typing import Protocol

from app.notify.twilio_client import SendResult, TwilioConfig, TwilioSender
from app.phones import mask_phone
from app.settings import Settings

log = logging.getLogger("klaxon.notify")


class Sender(Protocol):
    async def send_sms(self, *, to: str, body: str, status_callback: str | None) -> SendResult: ...

    async def place_call(
        self, *, to: str, twiml_url: str, status_callback: str | None
    ) -> SendResult: ...

    async def aclose(self) -> None: ...


class LogSender:
    """Without Twilio credentials: log what would be sent and accept it, so the
    whole page → reply flow can be tried locally (``klaxon reply``)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def send_sms(self, *, to: str, body: str, status_callback: str | None) -> SendResult:
        log.warning("no Twilio configured; would send SMS to %s: %s", mask_phone(to), body)
        return SendResult.accepted(f"SMlog{next(self._ids):028d}", "queued")

    async def place_call(
        self, *, to: str, twiml_url: str, status_callback: str | None
    ) -> SendResult:
        log.warning("no Twilio configured; would call %s with %s", mask_phone(to), twiml_url)
        return SendResult.accepted(f"CAlog{next(self._ids):028d}", "queued")

    async def aclose(self) -> None:
        return None


def make_sender(settings: Settings) -> Sender:
    if not settings.twilio_configured:
        return LogSender()
    assert settings.twilio_account_sid is not None and settings.twilio_auth_token is not None
    return TwilioSender(
        TwilioConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from,
            api_url=settings.twilio_api_url,
            timeout=settings.twilio_timeout,
        )
    )
