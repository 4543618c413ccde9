from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class TimelineEvent(SQLModel, table=True):
    """Something that happened to an incident, with when and who (or what) did it."""

    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_incident_at", "incident_number", "at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="incidents.number")
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
