"""Locking an incident row for the rest of the caller's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Incident, incidents_table
from app.models.rows import typed


async def locked_incident(session: AsyncSession, number: int) -> Incident:
    """The incident row, locked as ``app.incidents.lifecycle`` locks it (FOR NO
    KEY UPDATE: rows that reference the incident can still be inserted)."""
    row = (
        await session.execute(
            select(incidents_table)
            .where(incidents_table.c.number == number)
            .with_for_update(key_share=True)
        )
    ).first()
    if row is None:
        raise NotFound(f"No incident #{number}")
    return typed(Incident, row)
