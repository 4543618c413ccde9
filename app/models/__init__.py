"""Every table, so that Alembic and the tests need one import."""

from sqlalchemy import Table
from sqlmodel import SQLModel

from app.models.alert import Alert
from app.models.escalation import EscalationStep, Notification
from app.models.incident import OPEN_INCIDENT_PREDICATE, Incident
from app.models.oncall import EscalationPolicy, Responder, Schedule, ScheduleOverride
from app.models.timeline import TimelineEvent
from app.models.token import ApiToken
from app.models.types import UTCDateTime, utcnow

metadata = SQLModel.metadata

# Core tables, for the statements on hot paths that need no ORM objects.
alerts_table: Table = Alert.__table__  # type: ignore[attr-defined]
incidents_table: Table = Incident.__table__  # type: ignore[attr-defined]
timeline_table: Table = TimelineEvent.__table__  # type: ignore[attr-defined]
tokens_table: Table = ApiToken.__table__  # type: ignore[attr-defined]
responders_table: Table = Responder.__table__  # type: ignore[attr-defined]
schedules_table: Table = Schedule.__table__  # type: ignore[attr-defined]
overrides_table: Table = ScheduleOverride.__table__  # type: ignore[attr-defined]
policies_table: Table = EscalationPolicy.__table__  # type: ignore[attr-defined]
steps_table: Table = EscalationStep.__table__  # type: ignore[attr-defined]
notifications_table: Table = Notification.__table__  # type: ignore[attr-defined]

__all__ = [
    "OPEN_INCIDENT_PREDICATE",
    "Alert",
    "ApiToken",
    "EscalationPolicy",
    "EscalationStep",
    "Incident",
    "Notification",
    "Responder",
    "Schedule",
    "ScheduleOverride",
    "TimelineEvent",
    "UTCDateTime",
    "alerts_table",
    "incidents_table",
    "metadata",
    "notifications_table",
    "overrides_table",
    "policies_table",
    "responders_table",
    "schedules_table",
    "steps_table",
    "timeline_table",
    "tokens_table",
    "utcnow",
]
