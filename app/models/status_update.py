from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class StatusUpdate(SQLModel, table=True):
    """A status update as posted: its phase and message, and a snapshot of what
    the incident said at that moment (title, severity, impact, start), so an
    old update reads the same later."""

    __tablename__ = "status_updates"
    __table_args__ = (Index("ix_status_updates_incident", "incident_number", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="incidents.number")
    phase: str = Field(max_length=16)  # investigating, identified, monitoring, resolved
    message: str = Field(sa_type=Text)
    title: str = Field(max_length=500)
    severity: str = Field(max_length=4)
    impact: str | None = Field(default=None, sa_type=Text)
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    author: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Who held the roles, and when the next update was due, as the update said.
    roles: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    next_update_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
