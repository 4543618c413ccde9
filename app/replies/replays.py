"""Replayed callbacks: a Twilio callback that acted acts once.

Twilio sends every webhook with an ``I-Twilio-Idempotency-Token`` header, the
same on each retry of that webhook and different for every other. Headers are
not covered by ``X-Twilio-Signature``, though: whoever captured a signed
request can replay it with the header changed or dropped, and the signature
still checks out. So a callback is also known by what the signature does
cover: an inbound text by its ``MessageSid``, a keypress that acted by its
call's ``CallSid`` (a page call acts once, then says goodbye).

The keys are recorded in the transaction that acts, so a callback that failed
(a 503) was not seen, and Twilio's retry of it acts. They are kept for
``KLAXON_REPLAY_MEMORY_HOURS``; each callback prunes the older ones, which is
cheap as callbacks are few. Past that, a replayed numbered reply (``42A``) acts
on its own, long-settled incident, and a replayed bare ``A`` is refused unless
the responder's latest page is recent (app/replies/actions.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import twilio_callbacks_seen_table

__all__ = ["IDEMPOTENCY_HEADER", "callback_keys", "first_time"]

IDEMPOTENCY_HEADER = "i-twilio-idempotency-token"


def callback_keys(headers: Mapping[str, str], *, signed: Iterable[str]) -> list[str]:
    """What identifies a callback: Twilio's token, and ``signed`` values
    (``"sms:SM..."``, ``"call:CA..."``), each hashed to a fixed length."""
    named = [f"token:{token}"] if (token := headers.get(IDEMPOTENCY_HEADER)) else []
    named += [s for s in signed if not s.endswith(":")]  # an empty sid names nothing
    return [hashlib.sha256(n.encode("utf-8", "replace")).hexdigest() for n in named]


async def first_time(
    session: AsyncSession, keys: list[str], *, now: datetime, keep: timedelta
) -> bool:
    """Record ``keys``; False when any of them was seen within ``keep``."""
    t = twilio_callbacks_seen_table.c
    await session.execute(delete(twilio_callbacks_seen_table).where(t.seen_at < now - keep))
    new = True
    for key in keys:
        insert = insert_for(session, twilio_callbacks_seen_table).values(key=key, seen_at=now)
        added = await session.execute(
            insert.on_conflict_do_nothing(index_elements=[t.key]).returning(t.key)
        )
        new &= added.first() is not None
    return new
