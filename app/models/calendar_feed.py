from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class CalendarFeed(SQLModel, table=True):
    """A responder's secret calendar-feed link (app/console/feeds.py). The URL
    carries a random secret; only its SHA-256 is stored, so a copy of the
    database opens no feed. One per responder: regenerating replaces the row,
    which revokes the old link everywhere it was subscribed."""

    __tablename__ = "calendar_feeds"

    id: int | None = Field(default=None, primary_key=True)
    responder_id: int = Field(foreign_key="responders.id", ondelete="CASCADE", unique=True)
    secret_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
