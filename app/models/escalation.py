from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class EscalationStep(SQLModel, table=True):
    """A durable timer: step ``step_index`` of round ``round`` of an incident's
    policy, due at ``due_at``. Claimed with FOR UPDATE SKIP LOCKED; the unique
    constraint keeps a step from ever being scheduled twice."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint("incident_number", "round", "step_index", name="uq_steps_position"),
        Index("ix_steps_status_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_number: int = Field(foreign_key="incidents.number")
    policy: str = Field(max_length=200)
    round: int = 0
    step_index: int = 0
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(max_length=16)  # pending, done, skipped, cancelled
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Notification(SQLModel, table=True):
    """One SMS or call to one person, and everything that happened to it.

    ``state`` is Klaxon's: pending → sending (claimed under a lease) → sent,
    failed or cancelled. ``delivery`` is Twilio's status, moved forward only by
    its callbacks.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("step_id", "responder_id", "channel", name="uq_notifications_step"),
        Index("ix_notifications_state_due", "state", "due_at"),
        Index("ix_notifications_to_sent", "to_number", "sent_at"),
        Index("ix_notifications_incident", "incident_number"),
        Index("ix_notifications_sid", "twilio_sid"),
        Index("ix_notifications_sent_at", "sent_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # None for a notice about no one incident (a shift handoff).
    incident_number: int | None = Field(default=None, foreign_key="incidents.number")
    step_id: int | None = Field(default=None, foreign_key="escalation_steps.id")
    responder_id: int | None = Field(default=None, foreign_key="responders.id")
    responder_name: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # page, resolved, update, handoff, code (console sign-in)
    channel: str = Field(max_length=8)  # sms, voice
    to_number: str = Field(max_length=20)
    body: str | None = Field(default=None, sa_type=Text)
    state: str = Field(max_length=16)
    delivery: str | None = Field(default=None, max_length=20)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bundled_into: int | None = Field(default=None)
    twilio_sid: str | None = Field(default=None, max_length=64)
    error_code: int | None = None
    error_message: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
