"""A fetched row as its table's typed model, where a store hands it on.

Stores build their SQL with SQLAlchemy Core and get ``Row[Any]`` back; what
they return to handlers is the table's SQLModel class instead, so a reader
sees (and mypy checks) which fields there are. ``Any`` stays at this edge.

The model is built from the row's values as they are (``model_construct``):
the database and its column types already made them what the fields say, so
nothing is validated again (a constraint added to a field later must not make
stored rows unreadable), and the object is a plain value that no session
tracks. That costs a few microseconds a row; a validated or ORM-instrumented
instance costs tens of times more.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Row
from sqlalchemy.orm import configure_mappers
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)

# A table model's attributes read through SQLAlchemy's descriptors, which are
# complete once the mappers are configured (every table of app.models is
# declared by the time this package module is imported).
configure_mappers()


def typed(model: type[M], row: Row[Any]) -> M:
    """``row`` (every column of ``model``'s table) as a ``model``."""
    # SQLModel declares model_construct as returning SQLModel, not the class.
    return cast(M, model.model_construct(**row._asdict()))


def typed_or_none(model: type[M], row: Row[Any] | None) -> M | None:
    return None if row is None else typed(model, row)
