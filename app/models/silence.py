from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime


class Silence(SQLModel, table=True):
    """A silence Klaxon wants Alertmanager to hold (desired state), and how far
    Alertmanager has it (synced state): app/maintenance/sync.py reconciles them.

    ``state``: ``pending`` (to be created or updated in Alertmanager),
    ``synced``, ``expiring`` (to be expired there), ``expired`` (done) or
    ``rejected`` (Alertmanager refused it with a 4xx; not retried).
    ``next_attempt_at`` backs off after errors; ``lease_until`` marks a row a
    replica is talking to Alertmanager about.
    """

    __tablename__ = "silences"
    __table_args__ = (
        UniqueConstraint("window_id", "starts_at", name="uq_silences_window_occurrence"),
        Index("ix_silences_state_next", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # The window whose occurrence this silence mirrors (None for other silences).
    # No foreign key: a deleted window's silences stay, to be expired upstream.
    window_id: int | None = None
    incident_number: int | None = Field(default=None, foreign_key="incidents.number")
    # Alertmanager's form: [{"name", "value", "isRegex", "isEqual"}].
    matchers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    comment: str = Field(sa_type=Text)
    alertmanager_id: str | None = Field(default=None, max_length=64)
    state: str = Field(max_length=16)
    # Who asked for it by hand (an SMS ``42S2h``): it lasts the length they
    # asked for, whatever the incident's route says (None: Klaxon's own).
    requested_by: str | None = Field(default=None, max_length=200)
    # When they were told it ends soon (offered ``42S1h``); cleared when extended.
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
