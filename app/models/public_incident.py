from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class PublicIncident(SQLModel, table=True):
    """What the status page says about an incident someone chose to publish
    (app/statuspage): its public name, impact and status, apart from everything
    the incident says inside. ``public_id`` is what the public sees, so that the
    page does not count the incidents nobody published."""

    __tablename__ = "public_incidents"
    __table_args__ = (Index("ix_public_incidents_created_at", "created_at"),)

    incident_number: int = Field(foreign_key="incidents.number", primary_key=True)
    public_id: str = Field(max_length=16, unique=True)
    name: str = Field(max_length=200)
    impact: str = Field(max_length=16)  # none, minor, major, critical
    status: str = Field(max_length=16)  # investigating, identified, monitoring, resolved
    published_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    monitoring_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PublicIncidentUpdate(SQLModel, table=True):
    """One public update: a status word and the text the public reads."""

    __tablename__ = "public_incident_updates"
    __table_args__ = (Index("ix_public_incident_updates_incident", "incident_number", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="public_incidents.incident_number")
    public_id: str = Field(max_length=16, unique=True)
    status: str = Field(max_length=16)
    body: str = Field(sa_type=Text)
    author: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PublicIncidentComponent(SQLModel, table=True):
    """A component (a service) a public incident holds: its status now, and the
    worst it was during the incident (the page's history bars)."""

    __tablename__ = "public_incident_components"

    incident_number: int = Field(foreign_key="public_incidents.incident_number", primary_key=True)
    service: str = Field(max_length=200, primary_key=True)
    status: str = Field(max_length=24)
    worst: str = Field(max_length=24)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
