"""Stakeholders of a service: told of each status update by SMS when they opt in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import KlaxonError
from app.models import Stakeholder, stakeholders_table
from app.models.rows import typed
from app.response.schemas import StakeholderSpec


async def list_stakeholders(session: AsyncSession, service: str) -> list[Stakeholder]:
    s = stakeholders_table.c
    stmt = select(stakeholders_table).where(s.service == service).order_by(s.name)
    return [typed(Stakeholder, row) for row in await session.execute(stmt)]


async def replace_stakeholders(
    session: AsyncSession, service: str, specs: list[StakeholderSpec], *, now: datetime
) -> None:
    """Make ``specs`` the service's stakeholders: add, change and remove; an
    unchanged stakeholder keeps its ``updated_at``."""
    names = [spec.name for spec in specs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise KlaxonError(f"stakeholder {', '.join(map(repr, twice))} is listed twice")
    s = stakeholders_table.c
    stored = {row.name: row for row in await list_stakeholders(session, service)}
    gone = sorted(set(stored) - set(names))
    if gone:
        await session.execute(
            delete(stakeholders_table).where(s.service == service, s.name.in_(gone))
        )
    for spec in specs:
        row = stored.get(spec.name)
        if row is None:
            await session.execute(
                insert(stakeholders_table).values(
                    service=service,
                    name=spec.name,
                    phone=spec.phone,
                    opt_in=spec.opt_in,
                    created_at=now,
                    updated_at=now,
                )
            )
        elif (row.phone, row.opt_in) != (spec.phone, spec.opt_in):
            await session.execute(
                update(stakeholders_table)
                .where(s.id == row.id)
                .values(phone=spec.phone, opt_in=spec.opt_in, updated_at=now)
            )


async def opted_in(session: AsyncSession, services: Iterable[str]) -> list[Stakeholder]:
    """The opted-in stakeholders of any of ``services``, once per phone number."""
    wanted = sorted(set(services))
    if not wanted:
        return []
    s = stakeholders_table.c
    rows = await session.execute(
        select(stakeholders_table)
        .where(s.service.in_(wanted), s.opt_in.is_(True))
        .order_by(s.name, s.id)
    )
    by_phone: dict[str, Stakeholder] = {}
    for row in rows:
        if row.phone not in by_phone:
            by_phone[row.phone] = typed(Stakeholder, row)
    return list(by_phone.values())
