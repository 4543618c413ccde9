"""Every table, so that Alembic and the tests need one import."""

from sqlalchemy import Table
from sqlmodel import SQLModel

from app.models.alert import Alert
from app.models.incident import OPEN_INCIDENT_PREDICATE, Incident
from app.models.timeline import TimelineEvent
from app.models.token import ApiToken
from app.models.types import UTCDateTime, utcnow

metadata = SQLModel.metadata

# Core tables, for the statements on hot paths that need no ORM objects.
alerts_table: Table = Alert.__table__  # type: ignore[attr-defined]
incidents_table: Table = Incident.__table__  # type: ignore[attr-defined]
timeline_table: Table = TimelineEvent.__table__  # type: ignore[attr-defined]
tokens_table: Table = ApiToken.__table__  # type: ignore[attr-defined]

__all__ = [
    "OPEN_INCIDENT_PREDICATE",
    "Alert",
    "ApiToken",
    "Incident",
    "TimelineEvent",
    "UTCDateTime",
    "alerts_table",
    "incidents_table",
    "metadata",
    "timeline_table",
    "tokens_table",
    "utcnow",
]
