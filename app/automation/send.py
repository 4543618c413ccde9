"""The outbound queue's handlers for ``action`` and ``webhook``: one signed HTTP
request each, and a :class:`Delivered` saying what happened.

Whether a failure is worth retrying is decided here, where it is understood:
a timeout, a refused connection, a 5xx or a 429 is retried (the queue backs off
until the message's deadline); another 4xx, a missing secret or a refused
redirect is final, as retrying cannot fix it. Nothing here raises, and nothing
here touches the queue's table. Redirects are not followed: the host the rules
allowed is the only host called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.automation.signing import BadSecret, secret_bytes, signed_headers
from app.metrics import AUTOMATION_REQUESTS
from app.notify.outbound import Delivered, Handler, Outbound
from app.rules.actions import SECRET_PREFIX, FieldTemplate
from app.settings import Settings

#: How much of the executor's answer goes on the timeline.
ANSWER_SHOWN = 200
USER_AGENT = "Klaxon-Automation/1"


class MissingSecret(LookupError):
    pass


def _headers_with_secrets(headers: Mapping[str, str]) -> dict[str, str]:
    """``${secret.NAME}`` read from ``KLAXON_SECRET_NAME`` now, never stored."""
    filled: dict[str, str] = {}
    for name, value in headers.items():
        template = FieldTemplate(value)
        wanted = {
            used: f"{SECRET_PREFIX}{used.removeprefix('secret.')}"
            for used in template.get_identifiers()
        }
        missing = [env for env in wanted.values() if not os.environ.get(env)]
        if missing:
            raise MissingSecret(f"{', '.join(missing)} is not set")
        filled[name] = template.substitute({used: os.environ[env] for used, env in wanted.items()})
    return filled


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ANSWER_SHOWN else flat[: ANSWER_SHOWN - 1] + "…"


def _answer(what: str, response: httpx.Response) -> tuple[str, bool, bool]:
    """(summary, ok, final) of an answer."""
    status = response.status_code
    summary = f"{what}: {status} {response.reason_phrase}"
    shown = _one_line(response.text)
    if shown:
        summary += f": {shown}"
    if 200 <= status < 300:
        return summary, True, False
    final = 300 <= status < 500 and status not in (408, 425, 429)
    return summary, False, final


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


async def send_signed(
    *,
    kind: str,
    target: str,
    what: str,
    request: Mapping[str, Any],
    message_id: str,
    key: bytes | None,
) -> Delivered:
    """Send ``request`` (url, method, headers, body, timeout) signed as ``message_id``."""
    if key is None:
        AUTOMATION_REQUESTS.labels(kind, target, "not_signed").inc()
        return Delivered(
            ok=False, final=True, summary=f"{what}: not sent, KLAXON_AUTOMATION_SECRET is not set"
        )
    try:
        headers = _headers_with_secrets(request.get("headers", {}))
    except MissingSecret as exc:
        AUTOMATION_REQUESTS.labels(kind, target, "no_secret").inc()
        return Delivered(ok=False, final=True, summary=f"{what}: not sent, {exc}")
    body: str = request.get("body") or ""
    headers = {"User-Agent": USER_AGENT, **headers, **signed_headers(key, message_id, body)}
    if body:
        headers.setdefault("Content-Type", "application/json")
    timeout = float(request["timeout"])
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.request(
                request["method"], request["url"], headers=headers, content=body.encode()
            )
    except httpx.TimeoutException:
        AUTOMATION_REQUESTS.labels(kind, target, "timeout").inc()
        return Delivered(ok=False, summary=f"{what}: no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        AUTOMATION_REQUESTS.labels(kind, target, "unreachable").inc()
        host = urlsplit(str(request["url"])).netloc
        return Delivered(ok=False, summary=f"{what}: {host} unreachable ({type(exc).__name__})")
    summary, ok, final = _answer(what, response)
    AUTOMATION_REQUESTS.labels(kind, target, f"{response.status_code // 100}xx").inc()
    return Delivered(ok=ok, summary=summary, final=final, retry_after=_retry_after(response))


def signing_key(settings: Settings) -> bytes | None:
    secret = settings.automation_secret
    if secret is None:
        return None
    try:
        return secret_bytes(secret.get_secret_value())
    except BadSecret:
        return None


def action_handler(settings: Settings) -> Handler:
    """Sends a queued action (app/automation/actions.py wrote its request)."""
    key = signing_key(settings)

    async def send(item: Outbound) -> Delivered:
        name = str(item.payload["action"])
        return await send_signed(
            kind="action",
            target=name,
            what=f"Action {name}",
            request=item.payload,
            message_id=item.key,
            key=key,
        )

    return send


def webhook_handler(settings: Settings) -> Handler:
    """Sends a queued incident event (app/automation/webhooks.py); a delivery that
    went through stays off the timeline, one given up on is written there."""
    key = signing_key(settings)

    async def send(item: Outbound) -> Delivered:
        host = urlsplit(str(item.payload["url"])).netloc
        event = str(item.payload["message_id"])
        done = await send_signed(
            kind="webhook",
            target=host,
            what=f"Webhook {event} to {host}",
            request=item.payload,
            message_id=event,
            key=key,
        )
        return Delivered(
            ok=done.ok,
            summary=done.summary,
            retry_after=done.retry_after,
            final=done.final,
            timeline=not done.ok,
        )

    return send
