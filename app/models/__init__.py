"""Every table, so that Alembic and the tests need one import."""

from sqlalchemy import Table
from sqlmodel import SQLModel

from app.models.action_item import ActionItem
from app.models.alert import FIRING_PREDICATE, Alert
from app.models.calendar_feed import CalendarFeed
from app.models.change_event import ChangeEvent
from app.models.chat_card import ChatCard
from app.models.console_code import ConsoleCode
from app.models.console_session import ConsoleSession
from app.models.escalation import EscalationStep, Notification
from app.models.handoff import HandoffMark
from app.models.heartbeat import Heartbeat
from app.models.incident import OPEN_INCIDENT_PREDICATE, Incident
from app.models.incident_role import IncidentRole
from app.models.maintenance_window import MaintenanceWindow
from app.models.oncall import EscalationPolicy, Responder, Schedule, ScheduleOverride
from app.models.outbound import OutboundMessage
from app.models.postmortem import Postmortem
from app.models.public_incident import (
    PublicIncident,
    PublicIncidentComponent,
    PublicIncidentUpdate,
)
from app.models.repeat_summary import RepeatSummary
from app.models.silence import Silence
from app.models.sms_reply_limit import SmsReplyLimit
from app.models.stakeholder import Stakeholder
from app.models.status_subscriber import StatusSubscriber
from app.models.status_update import StatusUpdate
from app.models.timeline import TimelineEvent
from app.models.token import ApiToken
from app.models.twilio_callback import TwilioCallbackSeen
from app.models.types import UTCDateTime, utcnow
from app.models.update_clock import UpdateClock
from app.models.webhook_mark import WebhookMark
from app.models.webhook_subscription import WebhookSubscription

metadata = SQLModel.metadata

# Core tables, for the statements on hot paths that need no ORM objects.
alerts_table: Table = Alert.__table__  # type: ignore[attr-defined]
incidents_table: Table = Incident.__table__  # type: ignore[attr-defined]
timeline_table: Table = TimelineEvent.__table__  # type: ignore[attr-defined]
tokens_table: Table = ApiToken.__table__  # type: ignore[attr-defined]
heartbeats_table: Table = Heartbeat.__table__  # type: ignore[attr-defined]
responders_table: Table = Responder.__table__  # type: ignore[attr-defined]
schedules_table: Table = Schedule.__table__  # type: ignore[attr-defined]
overrides_table: Table = ScheduleOverride.__table__  # type: ignore[attr-defined]
policies_table: Table = EscalationPolicy.__table__  # type: ignore[attr-defined]
steps_table: Table = EscalationStep.__table__  # type: ignore[attr-defined]
notifications_table: Table = Notification.__table__  # type: ignore[attr-defined]
# Incident response: updates, stakeholders, reviews, handoffs.
status_updates_table: Table = StatusUpdate.__table__  # type: ignore[attr-defined]
stakeholders_table: Table = Stakeholder.__table__  # type: ignore[attr-defined]
postmortems_table: Table = Postmortem.__table__  # type: ignore[attr-defined]
action_items_table: Table = ActionItem.__table__  # type: ignore[attr-defined]
handoff_marks_table: Table = HandoffMark.__table__  # type: ignore[attr-defined]
repeat_summaries_table: Table = RepeatSummary.__table__  # type: ignore[attr-defined]
sms_reply_limits_table: Table = SmsReplyLimit.__table__  # type: ignore[attr-defined]
twilio_callbacks_seen_table: Table = TwilioCallbackSeen.__table__  # type: ignore[attr-defined]
change_events_table: Table = ChangeEvent.__table__  # type: ignore[attr-defined]
outbound_table: Table = OutboundMessage.__table__  # type: ignore[attr-defined]
# ChatOps (app/chat/).
chat_cards_table: Table = ChatCard.__table__  # type: ignore[attr-defined]

# The public status page (app/statuspage).
public_incidents_table: Table = PublicIncident.__table__  # type: ignore[attr-defined]
public_updates_table: Table = PublicIncidentUpdate.__table__  # type: ignore[attr-defined]
public_components_table: Table = PublicIncidentComponent.__table__  # type: ignore[attr-defined]
# The web console (app/console): sign-in codes and sessions.
console_codes_table: Table = ConsoleCode.__table__  # type: ignore[attr-defined]
console_sessions_table: Table = ConsoleSession.__table__  # type: ignore[attr-defined]
# Maintenance windows and the Alertmanager silences mirroring them (app/maintenance).
maintenance_windows_table: Table = MaintenanceWindow.__table__  # type: ignore[attr-defined]
silences_table: Table = Silence.__table__  # type: ignore[attr-defined]
# Auto-remediation: outgoing webhooks' subscriptions and how far they read the timeline.
webhook_subscriptions_table: Table = WebhookSubscription.__table__  # type: ignore[attr-defined]
webhook_marks_table: Table = WebhookMark.__table__  # type: ignore[attr-defined]
# Roles and the update cadence's timers (issue 14).
incident_roles_table: Table = IncidentRole.__table__  # type: ignore[attr-defined]
update_clocks_table: Table = UpdateClock.__table__  # type: ignore[attr-defined]
# The status page's public subscribers, by SMS and webhook (issue 18).
status_subscribers_table: Table = StatusSubscriber.__table__  # type: ignore[attr-defined]
# Calendar-feed secrets of the console (issue 15, app/console/feeds.py).
calendar_feeds_table: Table = CalendarFeed.__table__  # type: ignore[attr-defined]

#: Indexes only PostgreSQL has, made by the migrations alone (GIN indexes on
#: ``klaxon_labels_jsonb(labels)`` for the label filters, 0010_history_indexes):
#: SQLAlchemy's metadata cannot say "this dialect only", so the schema
#: comparison skips them.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_alerts_labels", "ix_incidents_labels"})

__all__ = [
    "FIRING_PREDICATE",
    "OPEN_INCIDENT_PREDICATE",
    "POSTGRESQL_ONLY_INDEXES",
    "ActionItem",
    "Alert",
    "ApiToken",
    "CalendarFeed",
    "ChangeEvent",
    "ChatCard",
    "ConsoleCode",
    "ConsoleSession",
    "EscalationPolicy",
    "EscalationStep",
    "HandoffMark",
    "Heartbeat",
    "Incident",
    "IncidentRole",
    "MaintenanceWindow",
    "Notification",
    "OutboundMessage",
    "Postmortem",
    # The public status page.
    "PublicIncident",
    "PublicIncidentComponent",
    "PublicIncidentUpdate",
    "RepeatSummary",
    "Responder",
    "Schedule",
    "ScheduleOverride",
    "Silence",
    "SmsReplyLimit",
    "Stakeholder",
    "StatusSubscriber",
    "StatusUpdate",
    "TimelineEvent",
    "TwilioCallbackSeen",
    "UTCDateTime",
    "UpdateClock",
    "WebhookMark",
    "WebhookSubscription",
    "action_items_table",
    "alerts_table",
    "calendar_feeds_table",
    "change_events_table",
    "chat_cards_table",
    "console_codes_table",
    "console_sessions_table",
    "handoff_marks_table",
    "heartbeats_table",
    "incident_roles_table",
    "incidents_table",
    "maintenance_windows_table",
    "metadata",
    "notifications_table",
    "outbound_table",
    "overrides_table",
    "policies_table",
    "postmortems_table",
    "public_components_table",
    "public_incidents_table",
    "public_updates_table",
    "repeat_summaries_table",
    "responders_table",
    "schedules_table",
    "silences_table",
    "sms_reply_limits_table",
    "stakeholders_table",
    "status_subscribers_table",
    "status_updates_table",
    "steps_table",
    "timeline_table",
    "tokens_table",
    "twilio_callbacks_seen_table",
    "update_clocks_table",
    "utcnow",
    "webhook_marks_table",
    "webhook_subscriptions_table",
]
