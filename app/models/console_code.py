from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ConsoleCode(SQLModel, table=True):
    """A one-time sign-in code for the web console, asked for by a phone number.

    Only a salted scrypt hash of the code is kept. A number that belongs to no
    responder gets a row too (``responder_id`` NULL, nothing sent, no code that
    can match), so that the per-number limit answers alike for every number."""

    __tablename__ = "console_codes"
    __table_args__ = (Index("ix_console_codes_phone_created", "phone", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=32)
    responder_id: int | None = Field(default=None, foreign_key="responders.id", ondelete="CASCADE")
    code_hash: str = Field(max_length=128)
    tries: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
