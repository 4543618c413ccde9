from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Alert(SQLModel, table=True):
    """One firing episode of an alert: its identity plus the start of the episode.

    The same fingerprint firing again after it resolved (a new ``startsAt``) is a
    new row, so it can join a new incident while the old one keeps its history.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint", "starts_at", name="uq_alerts_episode"),
        Index("ix_alerts_incident", "incident_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    fingerprint: str = Field(max_length=255)
    status: str = Field(max_length=16)
    name: str = Field(max_length=500)
    severity: str = Field(max_length=4)
    service: str = Field(max_length=200)
    group_key: str = Field(max_length=1000)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    # Stored whole: Prometheus puts the alert's whole query in it.
    generator_url: str | None = Field(default=None, sa_type=Text)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    occurrences: int = 1
    first_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    incident_number: int | None = Field(default=None, foreign_key="incidents.number")
