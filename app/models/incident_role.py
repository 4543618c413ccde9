from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime

#: The roles one person holds at a time; any number of subject-matter experts.
SINGLE_ROLE_PREDICATE = "role != 'sme'"


class IncidentRole(SQLModel, table=True):
    """Who holds which role on an incident: its commander, communications lead
    and scribe (one each), and its subject-matter experts. A role handed over
    replaces its row; the timeline keeps who held it before."""

    __tablename__ = "incident_roles"
    __table_args__ = (
        UniqueConstraint("incident_number", "role", "responder", name="uq_incident_roles_holder"),
        # One commander, one communications lead, one scribe: the database says so.
        Index(
            "uq_incident_roles_single",
            "incident_number",
            "role",
            unique=True,
            postgresql_where=text(SINGLE_ROLE_PREDICATE),
            sqlite_where=text(SINGLE_ROLE_PREDICATE),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="incidents.number")
    role: str = Field(max_length=16)  # commander, comms, scribe, sme
    responder: str = Field(max_length=200)
    assigned_by: str = Field(max_length=200)
    assigned_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
