"""Bearer tokens: stored as SHA-256 hashes, each with one scope.

Scopes, split by what they can do to the pager (each includes the one before,
but ``ingest``):

- ``ingest``: webhooks and heartbeat pings only;
- ``read``: everything there is to read, phone numbers masked;
- ``write``: act on incidents (acknowledge, resolve, report, triage, updates,
  review) and take a shift (overrides, recorded with the token's name);
- ``config``: change who gets paged: responders and their phones, schedules,
  escalation policies, stakeholders, heartbeats, the whole on-call document;
  sees phone numbers whole;
- ``admin``: everything, including ingest, tokens and reloads.

The admin token from settings is compared in constant time and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiToken, tokens_table
from app.models.types import ACTOR_MAX
from app.phones import mask_phone
from app.text import clip

Scope = Literal["ingest", "read", "write", "config", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "read", "write", "config", "admin")
_GRANTS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"ingest"}),
    "read": frozenset({"read"}),
    "write": frozenset({"read", "write"}),
    "config": frozenset({"read", "write", "config"}),
    "admin": frozenset({"ingest", "read", "write", "config", "admin"}),
}
TOKEN_PREFIX = "kx_"
# Short enough that every actor made of a name ("heartbeat ping (<name>)")
# fits the columns that record who acted (ACTOR_MAX).
TOKEN_NAME_MAX = 100


@dataclass(frozen=True)
class Principal:
    name: str
    scope: str

    def allows(self, needed: str) -> bool:
        return needed in _GRANTS.get(self.scope, frozenset())

    def shown_phone(self, number: str) -> str:
        """A phone number as this token may see it: whole if it may change it
        (``config``), else masked to its last 4 digits."""
        return number if self.allows("config") else mask_phone(number)

    def acting_as(self, via: str) -> str:
        """Who the timeline says acted: ``alertmanager (<token name>)``, cut to
        the columns that hold it (a token named before names were bounded can
        be long)."""
        return clip(f"{via} ({self.name})", ACTOR_MAX)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(
    session: AsyncSession, *, name: str, scope: Scope, now: datetime
) -> tuple[str, int]:
    secret = new_secret()
    row = (
        await session.execute(
            insert(tokens_table)
            .values(
                name=name,
                scope=scope,
                token_hash=hash_token(secret),
                prefix=secret[:10],
                created_at=now,
            )
            .returning(tokens_table.c.id)
        )
    ).one()
    return secret, int(row.id)


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.execute(select(ApiToken).order_by(tokens_table.c.id))).scalars())


async def revoke_token(session: AsyncSession, token_id: int, *, now: datetime) -> bool:
    t = tokens_table.c
    done = await session.execute(
        update(tokens_table)
        .where(t.id == token_id, t.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(t.id)
    )
    return done.first() is not None


class TokenVerifier:
    """Looks tokens up by hash, caching answers for a few seconds so that a
    webhook storm does not cost a query per request. A revocation takes
    effect within ``cache_seconds``."""

    def __init__(self, admin_token: str | None, cache_seconds: float) -> None:
        self._admin = admin_token
        self._ttl = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def verify(self, sessions: Callable[[], AsyncSession], secret: str) -> Principal | None:
        if self._admin is not None and hmac.compare_digest(secret.encode(), self._admin.encode()):
            return Principal("admin", "admin")
        digest = hash_token(secret)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        t = tokens_table.c
        # A session of its own, closed before the caller opens its transaction:
        # on SQLite a second writer would wait for this one.
        async with sessions() as session:
            row = (
                await session.execute(
                    select(t.name, t.scope).where(t.token_hash == digest, t.revoked_at.is_(None))
                )
            ).first()
        principal = Principal(row.name, row.scope) if row is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, principal)
        return principal

    def forget(self) -> None:
        self._cache.clear()
