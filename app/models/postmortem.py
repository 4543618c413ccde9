from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Postmortem(SQLModel, table=True):
    """The sections of an incident's post-mortem that a person writes; the rest
    of the draft is generated from the incident each time it is read."""

    __tablename__ = "postmortems"

    incident_number: int = Field(primary_key=True, foreign_key="incidents.number")
    summary: str | None = Field(default=None, sa_type=Text)
    root_cause: str | None = Field(default=None, sa_type=Text)
    lessons_learned: str | None = Field(default=None, sa_type=Text)
    impact_notes: str | None = Field(default=None, sa_type=Text)
    updated_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
