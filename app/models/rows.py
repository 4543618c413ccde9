"""A fetched row as its table's typed model, where a store hands it on.

Stores build their SQL with SQLAlchemy Core and get ``Row[Any]`` back; what
they return to handlers is the table's SQLModel class instead, so a reader
sees (and mypy checks) which fields there are. ``Any`` stays at this edge.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Row
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)


def typed(model: type[M], row: Row[Any]) -> M:
    """``row`` (every column of ``model``'s table) as a ``model``."""
    return model.model_validate(row, from_attributes=True)


def typed_or_none(model: type[M], row: Row[Any] | None) -> M | None:
    return None if row is None else typed(model, row)
