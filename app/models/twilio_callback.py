from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class TwilioCallbackSeen(SQLModel, table=True):
    """A Twilio callback that acted, remembered for a while so that the same
    callback again (Twilio's retry, or a captured request replayed) acts no
    more (app/replies/replays.py). ``key`` is a SHA-256 of what identifies it:
    Twilio's idempotency token, the text's MessageSid, the call's CallSid."""

    __tablename__ = "twilio_callbacks_seen"

    key: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
