"""Checking that a callback really comes from Twilio.

The signature covers the URL Twilio requested, which is ``KLAXON_PUBLIC_URL``
+ path + query (not the URL uvicorn sees behind a proxy), and every posted
field. Two auth tokens may be valid at once, for rotation. Without Twilio
credentials the admin token signs, which is what ``klaxon reply`` uses.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlparse

from fastapi import Request
from twilio.request_validator import RequestValidator, add_port, remove_port

from app.errors import Forbidden
from app.http import read_body
from app.settings import Settings

_FORM_LIMIT = 64 * 1024


def signing_tokens(settings: Settings) -> list[str]:
    if settings.twilio_configured:
        tokens = [settings.twilio_auth_token, settings.twilio_auth_token_secondary]
    else:
        tokens = [settings.admin_token]
    return [t for t in tokens if t]


def public_url_of(request: Request, settings: Settings) -> str:
    url = settings.callback_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


def is_valid(url: str, params: dict[str, str], signature: str, tokens: list[str]) -> bool:
    """Whether ``signature`` is Twilio's for this request under one of ``tokens``.

    As ``RequestValidator.validate`` (the URL with and without its default
    port, as Twilio signs either), but every candidate is compared with
    ``hmac.compare_digest`` and all of them are compared, so the time taken
    tells nothing about how close a forged signature came.
    """
    parsed = urlparse(url)
    urls = {add_port(parsed), remove_port(parsed)}
    given = signature.encode("utf-8", "replace")
    valid = False
    for token in tokens:
        validator = RequestValidator(token)
        for candidate in urls:
            expected = validator.compute_signature(candidate, params).encode()
            valid |= hmac.compare_digest(expected, given)
    return valid


async def signed_form(request: Request, settings: Settings) -> dict[str, str]:
    """The posted fields, once their signature checks out; else 403."""
    body = await read_body(request, _FORM_LIMIT)
    params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise Forbidden("missing X-Twilio-Signature")
    if not is_valid(public_url_of(request, settings), params, signature, signing_tokens(settings)):
        raise Forbidden("invalid X-Twilio-Signature")
    return params
