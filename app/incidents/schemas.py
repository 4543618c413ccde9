"""What the incident API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, computed_field, field_validator, model_validator

ItemT = TypeVar("ItemT")
IncidentStatus = Literal["triggered", "acknowledged", "resolved"]
#: What the incident list filters by: a status, or ``open`` (triggered or acknowledged).
IncidentStatusFilter = Literal["open", "triggered", "acknowledged", "resolved"]


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
    # Triage (PATCH /incidents/{number}).
    description: str | None = None
    impact: str | None = None
    affected_customers: int | str | None = Field(
        default=None,
        description='A count (a number), or a range or estimate as written ("1000-5000", "~3k")',
    )
    affected_services: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="Regions affected")
    started_at: datetime | None = Field(
        default=None,
        description="When the impact began: when the incident was opened, unless corrected",
    )
    recent_changes: str | None = None
    workaround: str | None = None

    @field_validator("affected_services", "regions", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("affected_customers", mode="before")
    @classmethod
    def _count_is_a_number(cls, value: Any) -> Any:
        # Stored as text; a plain count reads back as the number it was.
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 16:
            return int(value)
        return value

    @model_validator(mode="after")
    def _started_when_opened(self) -> IncidentPublic:
        if self.started_at is None:
            self.started_at = self.created_at
        return self


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
    at: datetime = Field(description="When Klaxon recorded it")
    kind: str
    actor: str
    message: str
    data: dict[str, Any]

    @computed_field(  # type: ignore[prop-decorator]
        description="When it happened, if a person back-dated it (a note's at); else null"
    )
    @property
    def happened_at(self) -> datetime | None:
        claimed = self.data.get("happened_at")
        return datetime.fromisoformat(claimed) if isinstance(claimed, str) else None


class RunbookPublic(BaseModel):
    source: Literal["annotation", "rules"] = Field(
        description="The alert's runbook_url annotation, or the rules file's runbooks"
    )
    name: str | None = None
    url: str | None = None
    text: str | None = Field(default=None, description="Markdown")


class RolesPublic(BaseModel):
    """Who holds the incident's roles: one commander (whoever acknowledged, until
    someone takes command), communications lead and scribe, any number of
    subject-matter experts."""

    commander: str | None = Field(default=None, examples=["alice"])
    comms: str | None = Field(default=None, description="The communications lead")
    scribe: str | None = None
    sme: list[str] = Field(default_factory=list, description="Subject-matter experts")


class IncidentDetail(IncidentPublic):
    alerts: list[AlertPublic]
    timeline: list[TimelineEventPublic]
    runbook: RunbookPublic | None = None
    roles: RolesPublic = Field(default_factory=RolesPublic)
    next_update_at: datetime | None = Field(
        default=None,
        description="When the next status update is due (the severity's update cadence);"
        " null when none is",
    )


class ActionRequest(BaseModel):
    by: str | None = Field(
        default=None, max_length=200, description="Who acts; defaults to the token's name"
    )
    note: str | None = Field(default=None, max_length=2000)
