from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class SmsReplyLimit(SQLModel, table=True):
    """How many answers to texts Klaxon did not understand went to one number
    in its current window (app/replies/limits.py). Counted in the database so
    that every replica shares one limit; one row per responder's number at most,
    as numbers that belong to no responder are never answered."""

    __tablename__ = "sms_reply_limits"

    phone: str = Field(primary_key=True, max_length=32)
    window_started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    answers: int = Field(nullable=False)
