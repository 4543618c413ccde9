from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime

FIRING_PREDICATE = "status = 'firing'"


class Alert(SQLModel, table=True):
    """One firing episode of an alert: its identity plus the start of the episode.

    The same fingerprint firing again after it resolved (a new ``startsAt``) is a
    new row, so it can join a new incident while the old one keeps its history.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source", "fingerprint", "starts_at", name="uq_alerts_episode"),
        Index("ix_alerts_incident", "incident_number"),
        # The list filters, newest first: equality then the key, so that a
        # filter matching little stops at once (and a generic plan is as good).
        Index("ix_alerts_service_id", "service", "id"),
        Index("ix_alerts_severity_id", "severity", "id"),
        Index("ix_alerts_status_id", "status", "id"),
        # Ingest reads the firing episode of a fingerprint, not its whole history.
        Index(
            "ix_alerts_firing_identity",
            "source",
            "fingerprint",
            postgresql_where=text(FIRING_PREDICATE),
            sqlite_where=text(FIRING_PREDICATE),
        ),
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
