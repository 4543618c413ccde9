"""``klaxon reply``: play a responder's phone against a local Klaxon."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from typing import Annotated
from urllib.parse import urlencode

import httpx
import typer

from app.cli._common import (
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    dev_admin_token,
    fail,
    read_dev_admin_token,
)
from app.settings import get_settings


def reply(
    body: Annotated[str, typer.Argument(help="The SMS text, e.g. 42A")],
    from_: Annotated[str, typer.Option("--from", help="The responder's phone, E.164")],
    url: Annotated[
        str | None,
        typer.Option(
            envvar="KLAXON_URL",
            show_envvar=True,
            help="Where Klaxon listens (default http://KLAXON_HOST:KLAXON_PORT)",
        ),
    ] = None,
) -> None:
    """Send Klaxon an SMS reply signed exactly as Twilio would sign it (local testing)."""
    from twilio.request_validator import RequestValidator

    from app.replies.signature import signing_tokens

    settings = get_settings()
    if (
        not settings.twilio_configured
        and settings.admin_token is None
        and read_dev_admin_token() is not None
    ):
        settings = settings.model_copy(update={"admin_token": dev_admin_token()})
    tokens = signing_tokens(settings)
    if not tokens:
        fail("no token to sign with: set KLAXON_TWILIO_AUTH_TOKEN or KLAXON_ADMIN_TOKEN")
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": from_,
        "To": settings.twilio_from,
        "Body": body,
        "NumMedia": "0",
    }
    path = "/api/v1/twilio/sms"
    signature = RequestValidator(tokens[0]).compute_signature(settings.callback_url + path, params)
    target = (url or f"http://{settings.host}:{settings.port}").rstrip("/") + path
    try:
        response = httpx.post(
            target,
            content=urlencode(params),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            timeout=10,
        )
    except httpx.InvalidURL as exc:
        fail(f"--url {target!r} is not a URL: {exc}", EXIT_USAGE)
    except httpx.HTTPError as exc:
        fail(f"cannot reach Klaxon at {target}: {exc}", EXIT_UNAVAILABLE)
    if response.status_code != 200:
        code = EXIT_UNAVAILABLE if response.status_code >= 500 else EXIT_REFUSED
        fail(f"Klaxon answered {response.status_code}: {response.text}", code)
    try:
        message = ET.fromstring(response.text).find("Message")
    except ET.ParseError:
        fail(f"{target} did not answer like Klaxon (not TwiML)", EXIT_UNAVAILABLE)
    typer.echo(message.text if message is not None and message.text else "(no reply)")
