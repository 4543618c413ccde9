"""Signing in to the console with a one-time code sent by SMS, and sessions.

A responder types their phone number; a 6-digit code goes to it through the
outbox (kind ``code``: the throttle sends it at once, never behind pages nor
ahead of one, app/notify/throttle.py). The answer is the same for a number
that belongs to no responder (a row is kept for it too, that no code can
match), so the form tells nobody who is a responder.

A code is kept only as a salted scrypt hash (a 6-digit code is quick to find
from a plain hash; scrypt makes trying all of them outlast its validity),
expires after ``KLAXON_CONSOLE_CODE_MINUTES``, and dies after
``KLAXON_CONSOLE_CODE_TRIES`` wrong tries. The text of its SMS in the outbox
is blanked once it is used, or past its lifetime when the next code is asked
for (by anyone). Codes asked for are limited per
number (counted in the database, shared by replicas) and per client address
(counted in each process). Nothing here commits: the views do.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import console_codes_table, console_sessions_table, responders_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.ratelimit import IngestLimiter
from app.settings import Settings

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_KEEP_CODES = timedelta(days=1)
_HOUR = 3600.0


def _digest(code: str, salt: bytes) -> str:
    return hashlib.scrypt(code.encode(), salt=salt, **_SCRYPT).hex()


async def hash_code(code: str) -> str:
    """``salt$digest``, computed off the event loop (scrypt takes tens of ms)."""
    salt = secrets.token_bytes(16)
    return f"{salt.hex()}${await asyncio.to_thread(_digest, code, salt)}"


async def code_matches(code: str, stored: str) -> bool:
    """Whether ``code`` is the one hashed in ``stored``. Takes as long for a row
    no code can match (a number of nobody's), so time tells nothing."""
    salt, _, digest = stored.partition("$")
    given = await asyncio.to_thread(_digest, code, bytes.fromhex(salt) if digest else b"0" * 16)
    return bool(digest) and hmac.compare_digest(given, digest)


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_text(code: str, minutes: float) -> str:
    return f"Klaxon sign-in code: {code}. It expires in {minutes:g} minutes. Never share it."


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class AddressLimits:
    """Codes asked for (and tried) per client address, per hour, in this process."""

    def __init__(self) -> None:
        self._buckets = IngestLimiter()

    def take(self, address: str, per_hour: int, now: datetime) -> int | None:
        """None when allowed, else the seconds to wait."""
        return self._buckets.take(address, rate=per_hour / _HOUR, burst=per_hour, now=now)


@dataclass(frozen=True)
class Asked:
    """What asking for a code did: ``wait`` seconds when over the per-number limit."""

    wait: int | None = None


async def ask_for_code(
    session: AsyncSession, settings: Settings, phone: str, now: datetime
) -> Asked:
    """Queue a code for ``phone`` if it belongs to a responder; the same
    answer either way. Over the per-number limit, nothing is queued."""
    c = console_codes_table.c
    await session.execute(delete(console_codes_table).where(c.created_at < now - _KEEP_CODES))
    lifetime = timedelta(minutes=settings.console_code_minutes)
    await outbox.forget_codes(session, to_number=None, before=now - lifetime)
    hour_ago = now - timedelta(hours=1)
    recent = list(
        (
            await session.execute(
                select(c.created_at)
                .where(c.phone == phone, c.created_at > hour_ago)
                .order_by(c.created_at)
            )
        ).scalars()
    )
    if len(recent) >= settings.console_codes_per_number:
        frees = recent[len(recent) - settings.console_codes_per_number] + timedelta(hours=1)
        return Asked(wait=max(int((frees - now).total_seconds()), 1))
    r = responders_table.c
    responder = (await session.execute(select(r.id, r.name).where(r.phone == phone))).first()
    code = new_code()
    code_hash = await hash_code(code)  # for a number of nobody's too: time tells nothing
    minutes = settings.console_code_minutes
    await session.execute(
        console_codes_table.insert().values(
            phone=phone,
            responder_id=responder.id if responder else None,
            # A number of nobody's gets a hash no code can match.
            code_hash=code_hash if responder else "none$",
            tries=0,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    if responder is not None:
        await outbox.enqueue(
            session,
            [
                Outgoing(
                    kind="code",
                    channel="sms",
                    to_number=phone,
                    responder_name=responder.name,
                    responder_id=responder.id,
                    body=code_text(code, minutes),
                )
            ],
            now,
        )
    return Asked()


async def check_code(
    session: AsyncSession, settings: Settings, phone: str, code: str, now: datetime
) -> int | None:
    """The responder id that ``code`` signs in, or None. Only the latest live
    code of the number counts; each try uses one of its tries, right or wrong,
    and a right code is used up."""
    c = console_codes_table.c
    row = (
        await session.execute(
            select(c.id, c.code_hash, c.tries, c.responder_id)
            .where(
                c.phone == phone,
                c.used_at.is_(None),
                c.expires_at > now,
                c.tries < settings.console_code_tries,
            )
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    await session.execute(
        update(console_codes_table).where(c.id == row.id).values(tries=c.tries + 1)
    )
    matched = await code_matches(code, row.code_hash)
    if row.responder_id is None or not matched:
        return None
    await session.execute(update(console_codes_table).where(c.id == row.id).values(used_at=now))
    await outbox.forget_codes(session, to_number=phone, before=now)
    # The responder must still own the number the code went to.
    r = responders_table.c
    owner = (
        await session.execute(select(r.id).where(r.id == row.responder_id, r.phone == phone))
    ).scalar()
    return int(owner) if owner is not None else None


async def start_session(
    session: AsyncSession, settings: Settings, responder_id: int, now: datetime
) -> str:
    """A new session for the responder; returns the secret for its cookie."""
    s = console_sessions_table.c
    await session.execute(delete(console_sessions_table).where(s.expires_at <= now))
    secret = secrets.token_urlsafe(32)
    await session.execute(
        console_sessions_table.insert().values(
            secret_hash=hash_secret(secret),
            responder_id=responder_id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    return secret


async def session_responder(
    session: AsyncSession, secret: str, now: datetime
) -> tuple[int, str, str] | None:
    """(id, name, time zone) of the responder a live session secret belongs to."""
    if not secret or len(secret) > 100:
        return None
    s, r = console_sessions_table.c, responders_table.c
    row = (
        await session.execute(
            select(r.id, r.name, r.time_zone)
            .join(console_sessions_table, s.responder_id == r.id)
            .where(s.secret_hash == hash_secret(secret), s.expires_at > now)
        )
    ).first()
    return (row.id, row.name, row.time_zone) if row is not None else None


async def end_session(session: AsyncSession, secret: str) -> None:
    s = console_sessions_table.c
    await session.execute(
        delete(console_sessions_table).where(s.secret_hash == hash_secret(secret))
    )
