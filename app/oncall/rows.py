"""What the on-call stores hand back: typed rows, not SQLAlchemy ``Row`` objects.

A handler, a page or another package reads a responder, schedule or override
through these frozen dataclasses, so a misspelt column is a type error rather
than an ``AttributeError`` at run time. The stores build them at the SQL edge
(:meth:`ResponderRow.of` and its siblings), the only place that sees ``Row[Any]``.

:func:`upsert_named` is the write every named row (responder, policy) shares:
insert it, or update it only when a value differs, and say which it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from sqlalchemy import Row, Table, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "Change",
    "OverrideRow",
    "ResponderRow",
    "ScheduleRow",
    "quoted_names",
    "upsert_named",
]


class Change(StrEnum):
    """What an upsert did. Truthy when something changed."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"

    def __bool__(self) -> bool:
        return self is not Change.UNCHANGED


def quoted_names(items: Iterable[str]) -> str:
    """``'a', 'b'``: each name once, sorted, as an error lists them."""
    return ", ".join(repr(n) for n in sorted(set(items)))


class _FromRow:
    """Built from a table row by column name (the columns it does not name are
    left out, so a new column needs a field here before anyone reads it)."""

    @classmethod
    def of(cls, row: Row[Any]) -> Self:
        columns = row._mapping
        return cls(**{f.name: columns[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResponderRow(_FromRow):
    """A row of ``responders`` (app/models/oncall.py)."""

    id: int
    name: str
    phone: str
    time_zone: str
    created_at: datetime
    updated_at: datetime
    slack_user_id: str | None
    email: str | None
    admin: bool
    mattermost_user_id: str | None


@dataclass(frozen=True)
class ScheduleRow(_FromRow):
    """A row of ``schedules``: ``layers`` as stored (the JSON of each LayerSpec)."""

    id: int
    name: str
    time_zone: str
    layers: list[dict[str, Any]]
    services: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class OverrideRow(_FromRow):
    """A row of ``schedule_overrides``."""

    id: int
    schedule_id: int
    starts_at: datetime
    ends_at: datetime
    responder: str
    created_at: datetime
    created_by: str | None


async def upsert_named(
    session: AsyncSession,
    table: Table,
    name: str,
    existing: object | None,
    values: dict[str, Any],
    *,
    now: datetime,
) -> Change:
    """Insert the row named ``name`` with ``values``, or update ``existing`` (its
    stored row) when one of them differs: writing what is stored changes nothing,
    not even ``updated_at``."""
    if existing is None:
        await session.execute(
            insert(table).values(name=name, created_at=now, updated_at=now, **values)
        )
        return Change.CREATED
    if all(getattr(existing, key) == value for key, value in values.items()):
        return Change.UNCHANGED
    row_id = getattr(existing, "id")  # noqa: B009 - any row with an id column
    await session.execute(
        update(table).where(table.c.id == row_id).values(updated_at=now, **values)
    )
    return Change.UPDATED
