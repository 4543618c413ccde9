from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class OutboundMessage(SQLModel, table=True):
    """An outgoing HTTP message that is not an SMS or a call (a chat post, a
    webhook, an action, an Alertmanager request): written in the transaction
    that decided it, sent after the commit (app.notify.outbound)."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        # One message per decision: a step fired twice, a retried webhook, an
        # event seen twice enqueue the same key and get the first row.
        UniqueConstraint("kind", "key", name="uq_outbound_kind_key"),
        Index("ix_outbound_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # the handler: webhook, action, slack, ...
    key: str = Field(max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    incident_number: int | None = Field(default=None, index=True)
    # pending → sending (claimed under a lease) → sent | failed; back to
    # pending, later, on a failure that may pass.
    state: str = Field(max_length=16, default="pending")
    attempts: int = Field(default=0)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_result: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
