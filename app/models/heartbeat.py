from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Heartbeat(SQLModel, table=True):
    """A dead man's switch: a ping is expected every ``interval_seconds``; with
    none for interval + grace it expires and fires an alert.

    ``expires_at`` is a durable timer like an escalation step's ``due_at``: the
    engine claims due rows with FOR UPDATE SKIP LOCKED. ``lease_until`` is set
    while an expiry is claimed and its alert not yet confirmed, so that a
    replica that dies in between leaves the expiry to another.
    """

    __tablename__ = "heartbeats"
    __table_args__ = (Index("ix_heartbeats_status_expires", "status", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    interval_seconds: int
    grace_seconds: int
    severity: str = Field(max_length=16)  # the alert's severity label
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=1000)
    status: str = Field(max_length=16)  # up, expired
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_ping_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    pings: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
