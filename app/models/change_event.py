from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ChangeEvent(SQLModel, table=True):
    """A change to a service (a deploy, a config change): what the playbook's
    "what changed recently?" is answered from. Written by PagerDuty's change
    events and the deploy webhook (app.response.changes)."""

    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_service_at", "service", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=200)
    summary: str = Field(max_length=1024)
    version: str | None = Field(default=None, max_length=200)
    who: str | None = Field(default=None, max_length=200)
    # PagerDuty's payload.source: where the change happened (a pipeline, a host).
    source: str | None = Field(default=None, max_length=1024)
    links: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    custom_details: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    # When the change happened (the sender's time, else when it was received).
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    via: str = Field(max_length=16)  # pagerduty, webhook
    received_by: str = Field(max_length=200)  # the ingest token's name
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # A hash of what the sender said, when it said when: a retried delivery
    # (the same change, the same time) is stored once.
    dedup_key: str | None = Field(default=None, max_length=64, unique=True)
