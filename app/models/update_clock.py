from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class UpdateClock(SQLModel, table=True):
    """When an incident's next status update falls due, as a durable timer: the
    update cadence of its severity (the rules file) counts from ``since_at``,
    its declaration, acknowledgement or latest status update. ``reminded_at``
    is set, by compare-and-set, when the one reminder of a missed update is
    queued; the next update starts the clock again."""

    __tablename__ = "update_clocks"

    incident_number: int = Field(foreign_key="incidents.number", primary_key=True)
    since_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
