from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Stakeholder(SQLModel, table=True):
    """Someone told about a service's incidents: each status update by SMS, if
    they opted in. Not a responder: never paged, and their replies act on nothing."""

    __tablename__ = "stakeholders"
    __table_args__ = (UniqueConstraint("service", "name", name="uq_stakeholders_service_name"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=200)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=20)
    opt_in: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
