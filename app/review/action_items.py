"""Action items: follow-ups from an incident or its post-mortem, tracked until
done. Overdue means open and due before today (UTC, by the runtime's clock)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, insert, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.incidents import queries
from app.models import ActionItem, action_items_table
from app.models.rows import typed
from app.review.schemas import ActionItemCreate, ActionItemPublic


def is_overdue(row: ActionItem, today: date) -> bool:
    return bool(row.status == "open" and row.due < today)


def item_public(row: ActionItem, today: date) -> ActionItemPublic:
    return ActionItemPublic(
        id=row.id,
        incident=row.incident_number,
        task=row.task,
        owner=row.owner,
        due=row.due,
        status=row.status,
        overdue=is_overdue(row, today),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        done_at=row.done_at,
    )


async def get(session: AsyncSession, item_id: int) -> ActionItem:
    c = action_items_table.c
    row = (await session.execute(select(action_items_table).where(c.id == item_id))).first()
    if row is None:
        raise NotFound(f"No action item {item_id}")
    return typed(ActionItem, row)


async def create(
    session: AsyncSession, number: int, spec: ActionItemCreate, *, by: str, now: datetime
) -> int:
    await queries.get_incident(session, number)
    item_id: int = (
        await session.execute(
            insert(action_items_table)
            .values(
                incident_number=number,
                task=spec.task,
                owner=spec.owner,
                due=spec.due,
                status="open",
                created_by=by,
                created_at=now,
                updated_at=now,
            )
            .returning(action_items_table.c.id)
        )
    ).scalar_one()
    return item_id


async def change(
    session: AsyncSession, item_id: int, changes: dict[str, Any], *, now: datetime
) -> None:
    """Apply ``changes`` (status, task, owner, due); marking it done records when."""
    row = await get(session, item_id)
    values = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if not values:
        return
    if "status" in values:
        values["done_at"] = now if values["status"] == "done" else None
    await session.execute(
        update(action_items_table)
        .where(action_items_table.c.id == item_id)
        .values(**values, updated_at=now)
    )


async def for_incident(session: AsyncSession, number: int) -> list[ActionItem]:
    c = action_items_table.c
    stmt = select(action_items_table).where(c.incident_number == number).order_by(c.id)
    return [typed(ActionItem, row) for row in await session.execute(stmt)]


async def find(
    session: AsyncSession,
    *,
    today: date,
    status: str | None = None,
    overdue: bool | None = None,
    owner: str | None = None,
    incident: int | None = None,
) -> list[ActionItem]:
    """Action items across incidents, soonest due first."""
    c = action_items_table.c
    stmt = select(action_items_table)
    if status is not None:
        stmt = stmt.where(c.status == status)
    if owner is not None:
        stmt = stmt.where(c.owner == owner)
    if incident is not None:
        stmt = stmt.where(c.incident_number == incident)
    late = and_(c.status == "open", c.due < today)
    if overdue is True:
        stmt = stmt.where(late)
    elif overdue is False:
        stmt = stmt.where(not_(late))
    return [typed(ActionItem, row) for row in await session.execute(stmt.order_by(c.due, c.id))]
