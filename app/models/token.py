from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class ApiToken(SQLModel, table=True):
    """A bearer token, stored as its SHA-256 hash; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    scope: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
