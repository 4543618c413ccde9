"""What the incident API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

ItemT = TypeVar("ItemT")
IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next (older) page; null on the last page"
    )


class IncidentPublic(BaseModel):
    number: int
    title: str
    status: IncidentStatus
    severity: str
    service: str
    policy: str | None
    labels: dict[str, Any]
    alert_count: int
    firing_count: int
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class AlertPublic(BaseModel):
    id: int
    source: str
    fingerprint: str
    status: Literal["firing", "resolved"]
    name: str
    severity: str
    service: str
    labels: dict[str, Any]
    annotations: dict[str, Any]
    generator_url: str | None
    starts_at: datetime
    ends_at: datetime | None
    occurrences: int = Field(description="Notifications received for this episode")
    first_seen_at: datetime
    last_seen_at: datetime
    incident_number: int | None


class TimelineEventPublic(BaseModel):
    at: datetime
    kind: str
    actor: str
    message: str
    data: dict[str, Any]


class IncidentDetail(IncidentPublic):
    alerts: list[AlertPublic]
    timeline: list[TimelineEventPublic]


class ActionRequest(BaseModel):
    by: str | None = Field(
        default=None, max_length=200, description="Who acts; defaults to the token's name"
    )
    note: str | None = Field(default=None, max_length=2000)
