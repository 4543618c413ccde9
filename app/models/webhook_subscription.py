from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class WebhookSubscription(SQLModel, table=True):
    """A URL subscribed through the API to incident events (``incident.opened``, …),
    besides those the rules file declares (app/automation/webhooks.py)."""

    __tablename__ = "webhook_subscriptions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
