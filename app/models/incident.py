from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime

OPEN_INCIDENT_PREDICATE = "status != 'resolved'"


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per group key: the database, not the code,
        # is what keeps two concurrent deliveries from opening two incidents.
        Index(
            "uq_incidents_open_group_key",
            "group_key",
            unique=True,
            postgresql_where=text(OPEN_INCIDENT_PREDICATE),
            sqlite_where=text(OPEN_INCIDENT_PREDICATE),
        ),
        Index("ix_incidents_status_number", "status", "number"),
        Index("ix_incidents_severity_number", "severity", "number"),
        Index("ix_incidents_service_number", "service", "number"),
        Index("ix_incidents_created_at", "created_at"),
        Index("ix_incidents_resolved_at", "resolved_at"),  # retention
        # A flapping group's last incident, whether open or resolved.
        Index("ix_incidents_group_key_number", "group_key", "number"),
    )

    number: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=500)
    status: str = Field(max_length=16)
    severity: str = Field(max_length=4)
    service: str = Field(max_length=200)
    policy: str | None = Field(default=None, max_length=200)
    group_key: str = Field(max_length=1000)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    alert_count: int = 0
    firing_count: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=200)
    # What responders learn during triage (app.response.triage); a reported
    # incident's description comes with its report.
    description: str | None = Field(default=None, sa_type=Text)
    impact: str | None = Field(default=None, sa_type=Text)
    # A count ("1200") or an estimate ("1000-5000", "~3k"), as a responder wrote it.
    affected_customers: str | None = Field(default=None, max_length=100)
    affected_services: list[str] | None = Field(default=None, sa_column=Column(JSON))
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    regions: list[str] | None = Field(default=None, sa_column=Column(JSON))
    recent_changes: str | None = Field(default=None, sa_type=Text)
    workaround: str | None = Field(default=None, sa_type=Text)
