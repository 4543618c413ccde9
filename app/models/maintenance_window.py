from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class MaintenanceWindow(SQLModel, table=True):
    """Planned quiet: alerts that match are stored and shown but page nobody
    until the window (or its current occurrence) ends.

    A one-off window runs from ``starts_at`` to ``ends_at``. A recurring one has
    an RFC 5545 ``rrule`` whose occurrences begin at ``starts_at``'s wall-clock
    time in ``time_zone`` (so 02:00 Berlin stays 02:00 across DST) and last
    ``duration_seconds``. ``ended_at`` is set by "end now": nothing of the
    window is active from then on.
    """

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ended", "ended_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    reason: str = Field(max_length=1000)
    author: str = Field(max_length=200)
    time_zone: str = Field(max_length=64)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rrule: str | None = Field(default=None, sa_type=Text)
    duration_seconds: int | None = None
    matchers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quiet_open_incidents: bool = False
    # Shown on the status page as scheduled maintenance only with a public
    # title (its name, matchers and reason stay internal).
    public_title: str | None = Field(default=None, max_length=200)
    public_description: str | None = Field(default=None, sa_type=Text)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
