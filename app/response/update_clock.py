"""When the next status update is due: the update cadence's clock.

The rules file gives each severity a cadence (``update_cadence``; by default
SEV1 every 30 minutes, SEV2 every 60, SEV3 and SEV4 none). An incident's clock
starts when it is declared or acknowledged and starts again with each status
update; the next update is due a cadence later. Only the start is stored (a
row of ``update_clocks``); the due time is worked out from the incident's
severity as of now and the rules as loaded, so a severity changed in triage or
a rules file reloaded moves it without rewriting any row.

A resolved incident has no update due. The reminder of a missed update is
:mod:`app.response.reminders`; this module sits below
:mod:`app.incidents.lifecycle`, which starts the clock at acknowledgement.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_for
from app.models import update_clocks_table
from app.rules import RulesFile


def due_after(rules: RulesFile, severity: str, since: datetime) -> datetime | None:
    """When an update is due for a clock started at ``since``, or None (no cadence)."""
    seconds = rules.update_cadence_for(severity)
    return None if seconds is None else since + timedelta(seconds=seconds)


async def start(session: AsyncSession, number: int, now: datetime) -> None:
    """(Re)start the clock at ``now``: a reminder already sent is forgotten."""
    statement = insert_for(session, update_clocks_table).values(
        incident_number=number, since_at=now, reminded_at=None
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["incident_number"], set_={"since_at": now, "reminded_at": None}
        )
    )


async def next_update_at(
    session: AsyncSession, rules: RulesFile, *, number: int, status: str, severity: str
) -> datetime | None:
    """When incident ``number`` should next say how it is going; None if it is
    resolved or need not."""
    if status == "resolved":
        return None
    c = update_clocks_table.c
    since = (await session.execute(select(c.since_at).where(c.incident_number == number))).scalar()
    return None if since is None else due_after(rules, severity, since)
