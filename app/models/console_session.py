from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ConsoleSession(SQLModel, table=True):
    """A responder signed in to the web console. The cookie holds a random
    secret; only its SHA-256 is stored, so a copy of the database signs no one
    in, and signing out (deleting the row) ends the session everywhere."""

    __tablename__ = "console_sessions"

    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(max_length=64, unique=True)
    responder_id: int = Field(foreign_key="responders.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # How it began: "code" (SMS code), "oidc" (single sign-on) or "link" (a page's
    # signed link: no admin pages, no changing one's phone).
    via: str = Field(default="code", max_length=8, sa_column_kwargs={"server_default": "code"})
