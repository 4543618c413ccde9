"""How often Klaxon answers a text it did not understand: at most
``ANSWERS_PER_WINDOW`` times per number per ``WINDOW``, then not at all until
the window has passed.

Each answer is an SMS that Klaxon's account pays for, sent to whatever number
the text claims to come from; without a limit, a stream of garbage would make
Klaxon text someone without end. Numbers that belong to no responder are never
answered at all (app/replies/actions.py), so only responders' numbers are
counted, and understood commands (ack, resolve) are always answered.

The count is a row per number in the database, moved by one atomic upsert, so
all replicas share one limit. A window starts with the first answer counted
and lasts ``WINDOW``; the next text after it starts a new one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import case, literal
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import UTCDateTime, sms_reply_limits_table

__all__ = ["ANSWERS_PER_WINDOW", "WINDOW", "take_answer"]

ANSWERS_PER_WINDOW: Final = 3
WINDOW: Final = timedelta(hours=1)


async def take_answer(session: AsyncSession, phone: str, *, now: datetime) -> bool:
    """Count one answer to ``phone``: True when it may be sent, False when the
    number already had its answers in the current window."""
    t = sms_reply_limits_table.c
    started = literal(now, UTCDateTime)
    expired = t.window_started_at <= literal(now - WINDOW, UTCDateTime)
    first = insert_for(session, sms_reply_limits_table).values(
        phone=phone, window_started_at=now, answers=1
    )
    upsert = first.on_conflict_do_update(
        index_elements=[t.phone],
        set_={
            "window_started_at": case((expired, started), else_=t.window_started_at),
            "answers": case((expired, 1), else_=t.answers + 1),
        },
    ).returning(t.answers)
    answers = (await session.execute(upsert)).scalar_one()
    return int(answers) <= ANSWERS_PER_WINDOW
