from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlalchemy import false as sa_false
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Responder(SQLModel, table=True):
    """A person who can be paged. The phone number (E.164) is also how an
    inbound SMS is matched to its sender, so it is unique."""

    __tablename__ = "responders"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    phone: str = Field(max_length=20, unique=True)
    time_zone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Who they are in Slack (U0123...): a Slack user acts only as the responder
    # mapped to them (app/chat/identity.py).
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True)
    # Single sign-on (app/console/oidc.py) matches the identity provider's e-mail
    # (or configured claim) to this; admins may use the console's admin pages.
    email: str | None = Field(default=None, max_length=254, unique=True)
    admin: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    # Who they are in Mattermost (its 26-character user id): likewise.
    mattermost_user_id: str | None = Field(default=None, max_length=32, unique=True)


class Schedule(SQLModel, table=True):
    """Rotation layers in an IANA time zone; who is on call is computed from
    them (``app.oncall.rotation``), never stored."""

    __tablename__ = "schedules"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    time_zone: str = Field(max_length=64)
    layers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ScheduleOverride(SQLModel, table=True):
    """Someone on call over ``[starts_at, ends_at)``; ``created_by`` names the
    token (or ``klaxon apply``) that put it there, NULL for older rows."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_overrides_schedule_start", "schedule_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: int = Field(foreign_key="schedules.id", ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    responder: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_by: str | None = Field(default=None, max_length=200)


class EscalationPolicy(SQLModel, table=True):
    """Ordered steps (targets, channels, delay before the next step) and how
    many times the whole list repeats."""

    __tablename__ = "escalation_policies"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    steps: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    repeat: int = 0
    # Who may acknowledge or resolve its incidents from a phone: "anyone" (any
    # responder, recorded as not paged) or "paged-only".
    ack: str = Field(default="anyone", max_length=16, sa_column_kwargs={"server_default": "anyone"})
    # Seconds an acknowledgement silences its incidents' alerts in Alertmanager
    # (app/maintenance/ack_silences.py); a route's own setting takes precedence.
    silence_on_ack: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
