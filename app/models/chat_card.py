from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ChatCard(SQLModel, table=True):
    """An incident's card in the main chat channel (app/chat/cards.py).

    The row is written in the transaction that opened the incident, before the
    card exists; ``ts`` (Slack's message id) is filled in once it is posted, and
    every later change of the incident updates that message in place."""

    __tablename__ = "chat_cards"

    incident_number: int = Field(
        primary_key=True, foreign_key="incidents.number", ondelete="CASCADE"
    )
    channel: str = Field(max_length=64)
    ts: str | None = Field(default=None, max_length=64)
    # The incident's own channel (SEV1/SEV2 by default), once created.
    incident_channel: str | None = Field(default=None, max_length=64, index=True)
    # Its name, stored before each ``conversations.create`` of it: when Slack's
    # answer is lost, the retry finds the channel under that name, not a second.
    incident_channel_name: str | None = Field(default=None, max_length=80)
    # The card's post in Mattermost's main channel, once posted (app/chat/mattermost.py).
    mattermost_post_id: str | None = Field(default=None, max_length=32)
    # The incident's own Mattermost channel, and its name stored before each
    # create, as for Slack's (app/chat/mattermost_channels.py).
    mattermost_channel: str | None = Field(default=None, max_length=32)
    mattermost_channel_name: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
