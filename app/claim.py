"""Claiming due work across replicas: the first due row no other replica holds.

Durable timers (escalation steps, heartbeat deadlines) are rows with a due
time. Any number of replicas look for them at once; each takes the earliest
due row with ``FOR UPDATE SKIP LOCKED``, so two never take the same one and
none waits for another's. The row lock lasts the caller's transaction: that
is the lease when the work is done inside it (a step), or the moment to write
a lease column when it is not (a heartbeat's expiry).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Table, select
from sqlalchemy.ext.asyncio import AsyncSession


async def first_due(
    session: AsyncSession,
    table: Table,
    where: ColumnElement[bool],
    order_by: tuple[ColumnElement[Any], ...],
) -> Row[Any] | None:
    """The first row of ``table`` by ``order_by`` that matches ``where`` and that
    no other transaction holds, locked until the caller's transaction ends."""
    return (
        await session.execute(
            select(table)
            .where(where)
            .order_by(*order_by)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
