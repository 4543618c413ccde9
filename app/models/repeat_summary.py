from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class RepeatSummary(SQLModel, table=True):
    """How many deduplicated repeats of an incident's alerts its timeline
    already tells of, and when it last did (``app.ingest.repeat_summary``)."""

    __tablename__ = "repeat_summaries"

    incident_number: int = Field(primary_key=True, foreign_key="incidents.number")
    counted: int = 0
    counted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
