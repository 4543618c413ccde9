from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class StatusSubscriber(SQLModel, table=True):
    """A member of the public subscribed to the status page's updates, by SMS (a
    phone number, ``pending`` until it replies YES) or by webhook (a URL, with
    the secret its deliveries are signed with). ``components`` holds the public
    ids of the components followed; empty follows the whole page. Unsubscribing
    (STOP, the token, an admin) deletes the row; the texts already sent stay in
    the outbox's history until KLAXON_RETENTION_DAYS prunes them, as every SMS."""

    __tablename__ = "status_subscribers"
    __table_args__ = (UniqueConstraint("channel", "target"), UniqueConstraint("token"))

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=10)  # sms, webhook
    target: str = Field(max_length=2000)  # E.164 number or URL
    components: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=10)  # pending, active
    token: str = Field(max_length=64)  # unsubscribes (webhook)
    secret: str | None = Field(default=None, max_length=100)  # whsec_…, webhook only
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
