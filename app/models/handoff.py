from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class HandoffMark(SQLModel, table=True):
    """How far a schedule's shift changes have been handed off: every handoff
    at or before ``through`` has had its SMS queued. Moved forward with a
    compare-and-set, so each handoff is queued once across replicas."""

    __tablename__ = "handoff_marks"

    schedule_id: int = Field(primary_key=True, foreign_key="schedules.id", ondelete="CASCADE")
    through: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
