from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ActionItem(SQLModel, table=True):
    """A follow-up from an incident's review, tracked until it is done."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_status_due", "status", "due"),
        Index("ix_action_items_incident", "incident_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="incidents.number")
    task: str = Field(max_length=500)
    owner: str = Field(max_length=200)
    due: date
    status: str = Field(max_length=8)  # open, done
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
