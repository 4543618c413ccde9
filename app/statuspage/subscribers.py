"""The status page's public subscribers: who follows it, by SMS or webhook.

Anyone who can read the page may subscribe, so everything here assumes a
stranger on the other end:

- SMS is double opt-in. Subscribing writes a ``pending`` row and queues one
  confirmation text (through the outbox, as a notice: it never goes ahead of a
  page); the number is followed only once it replies ``YES``, within a day. A
  number gets one confirmation per ``KLAXON_STATUS_CONFIRM_MINUTES`` however
  often it is typed in, and the answer is the same whether the number was new,
  pending or already following, so the endpoint tells nobody who follows the
  page. ``STOP`` (or any of the carriers' stop words) deletes the row.
- A webhook URL must be https and name a host whose every address is public
  (not loopback, private, link-local, multicast or reserved), checked when it
  subscribes and again before each delivery (app/statuspage/deliver.py), so the
  page cannot be used to reach inside the network; or be on
  ``KLAXON_STATUS_WEBHOOK_HOSTS``, the operator's own list. Its deliveries are
  signed with a secret of its own (Standard Webhooks), given once, and it
  unsubscribes with the token it was given.
- New subscriptions are limited per hour across the page, and in total.

Numbers and URLs are never shown on the page or in its JSON; an admin lists
them masked (app/statuspage/subscribe_endpoints.py). Nothing here commits.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.errors import KlaxonError
from app.models import status_subscribers_table
from app.notify import outbox
from app.rules.status_page import StatusPageConfig
from app.settings import Settings
from app.statuspage.summary import public_id
from app.text import clip

#: The outbox kind of a subscriber's texts: a notice, below every page.
SMS_KIND = "status"
CONFIRM_WITHIN = timedelta(days=1)
#: What carriers and Twilio treat as an opt-out, and what confirms.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
YES_WORDS = frozenset({"YES", "Y"})
SUBSCRIBER_NAME = "status page subscriber"  # the outbox's responder_name for them
_s = status_subscribers_table.c


def component_ids(page: StatusPageConfig) -> dict[str, str]:
    """Public component id → service, for the components on the page."""
    return {public_id("component", c.service): c.service for c in page.components}


def check_components(page: StatusPageConfig, wanted: list[str]) -> list[str]:
    known = component_ids(page)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise KlaxonError(
            f"components: {', '.join(map(repr, unknown))} are not component ids of this page"
            " (see /status/api/v2/components.json)",
            status_code=422,
        )
    return sorted(set(wanted))


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in found]


async def url_refused(url: str, settings: Settings) -> str | None:
    """Why a webhook may not be sent to ``url``; None when it may."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return "must be an absolute https URL"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "has an invalid port"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    allowed = settings.status_webhook_allowed
    if allowed:
        if host in allowed or f"{host}:{port}" in allowed:
            return None
        return f"host {host!r} is not in KLAXON_STATUS_WEBHOOK_HOSTS"
    if parts.scheme != "https":
        return "must be https"
    addresses = await _addresses(host, port)
    if not addresses:
        return f"host {host!r} does not resolve"
    if not all(_is_public(a) for a in addresses):
        return f"host {host!r} is not a public address"
    return None


async def _count_recent(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """(subscriptions in the last hour, subscribers in all)."""
    row = (
        await session.execute(
            select(
                func.count().filter(_s.created_at > now - timedelta(hours=1)),
                func.count(),
            ).select_from(status_subscribers_table)
        )
    ).one()
    return int(row[0]), int(row[1])


async def _check_limits(session: AsyncSession, settings: Settings, now: datetime) -> None:
    recent, total = await _count_recent(session, now)
    if total >= settings.status_subscribers_max:
        raise KlaxonError("the status page takes no more subscribers", status_code=429)
    if recent >= settings.status_subscriptions_per_hour:
        raise KlaxonError(
            "too many subscriptions to this status page within the hour; try again later",
            status_code=429,
        )


def confirm_text(page: StatusPageConfig) -> str:
    return (
        f"{page.name}: reply YES to get status updates by SMS"
        f" (msg&data rates may apply). Reply STOP to stop."
    )


async def _by_target(session: AsyncSession, channel: str, target: str) -> Any:
    return (
        await session.execute(
            select(status_subscribers_table).where(_s.channel == channel, _s.target == target)
        )
    ).first()


async def subscribe_sms(
    session: AsyncSession,
    page: StatusPageConfig,
    settings: Settings,
    *,
    phone: str,
    components: list[str],
    now: datetime,
) -> None:
    """Ask ``phone`` to confirm; the same outcome for every number, whatever it was."""
    components = check_components(page, components)
    row = await _by_target(session, "sms", phone)
    if row is not None and row.state == "active":
        return  # already following: nothing is sent and nothing changes
    if row is not None:
        if row.created_at > now - timedelta(minutes=settings.status_confirm_minutes):
            return  # asked recently: one confirmation text per period
        await session.execute(delete(status_subscribers_table).where(_s.id == row.id))
    await _check_limits(session, settings, now)
    await session.execute(
        insert_for(session, status_subscribers_table).values(
            channel="sms",
            target=phone,
            components=components,
            state="pending",
            token=secrets.token_urlsafe(24),
            created_at=now,
        )
    )
    await outbox.enqueue(
        session,
        [
            outbox.Outgoing(
                kind=SMS_KIND,
                channel="sms",
                to_number=phone,
                responder_name=SUBSCRIBER_NAME,
                body=confirm_text(page),
            )
        ],
        now,
    )


@dataclass(frozen=True)
class WebhookSubscribed:
    id: int
    token: str
    secret: str


async def subscribe_webhook(
    session: AsyncSession,
    page: StatusPageConfig,
    settings: Settings,
    *,
    url: str,
    components: list[str],
    now: datetime,
) -> WebhookSubscribed:
    components = check_components(page, components)
    refused = await url_refused(url, settings)
    if refused is not None:
        raise KlaxonError(f"url: {refused}", status_code=422)
    if await _by_target(session, "webhook", url) is not None:
        raise KlaxonError("url: already subscribed", status_code=409)
    await _check_limits(session, settings, now)
    token = secrets.token_urlsafe(24)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    created = await session.execute(
        insert_for(session, status_subscribers_table)
        .values(
            channel="webhook",
            target=url,
            components=components,
            state="active",
            token=token,
            secret=secret,
            created_at=now,
            confirmed_at=now,
        )
        .returning(_s.id)
    )
    return WebhookSubscribed(id=int(created.scalar_one()), token=token, secret=secret)


async def unsubscribe(session: AsyncSession, token: str) -> bool:
    result = await session.execute(
        delete(status_subscribers_table).where(_s.token == token, _s.channel == "webhook")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def sms_reply(
    session: AsyncSession, page: StatusPageConfig, *, from_number: str, body: str, now: datetime
) -> str | None:
    """A text from a subscriber's number: ``YES`` confirms, ``STOP`` deletes.
    None when the text is neither or the number subscribed to nothing, so the
    responders' reply grammar takes it (app/replies)."""
    word = body.strip().upper().rstrip(".!")
    if word not in STOP_WORDS and word not in YES_WORDS:
        return None
    row = await _by_target(session, "sms", from_number)
    if row is None:
        return None
    if word in STOP_WORDS:
        await session.execute(delete(status_subscribers_table).where(_s.id == row.id))
        return f"{page.name}: unsubscribed, no more status updates will be sent."
    if row.state == "active":
        return f"{page.name}: you already get status updates. Reply STOP to stop."
    if row.created_at <= now - CONFIRM_WITHIN:
        await session.execute(delete(status_subscribers_table).where(_s.id == row.id))
        return f"{page.name}: that request expired; subscribe again on the status page."
    await session.execute(
        update(status_subscribers_table)
        .where(_s.id == row.id)
        .values(state="active", confirmed_at=now)
    )
    return f"{page.name}: subscribed to status updates. Reply STOP to stop."


async def active(session: AsyncSession) -> list[Any]:
    return list(
        (
            await session.execute(
                select(status_subscribers_table).where(_s.state == "active").order_by(_s.id)
            )
        ).all()
    )


def follows(row: Any, components: set[str]) -> bool:
    """Whether a subscriber hears of a change to ``components`` (public ids)."""
    return not row.components or bool(components & set(row.components))


def sms_body(text: str) -> str:
    return clip(" ".join(text.split()), 600)
