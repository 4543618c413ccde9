"""What the review API takes and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

ActionStatus = Literal["open", "done"]
By = Annotated[
    str | None, Field(max_length=200, description="Who acts; defaults to the token's name")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostmortemSections(_Body):
    """The sections a person writes. Sections left out stay as they are; ``null``
    clears one."""

    summary: str | None = Field(default=None, max_length=20000)
    root_cause: str | None = Field(default=None, max_length=20000)
    lessons_learned: str | None = Field(default=None, max_length=20000)
    impact_notes: str | None = Field(
        default=None, max_length=20000, description="Added under Impact (e.g. revenue)"
    )
    by: By = None

    def changes(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set) if name != "by"}


class ActionItemCreate(_Body):
    task: str = Field(min_length=1, max_length=500, examples=["Add index monitoring"])
    owner: str = Field(min_length=1, max_length=200, examples=["alice"])
    due: date = Field(
        validation_alias=AliasChoices("due", "due_date"), description="YYYY-MM-DD (or due_date)"
    )
    by: By = None


class ActionItemUpdate(_Body):
    status: ActionStatus | None = None
    task: str | None = Field(default=None, min_length=1, max_length=500)
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    due: date | None = Field(default=None, validation_alias=AliasChoices("due", "due_date"))

    @model_validator(mode="after")
    def _nothing_cleared(self) -> ActionItemUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ActionItemPublic(BaseModel):
    id: int
    incident: int
    task: str
    owner: str
    due: date
    status: ActionStatus
    overdue: bool = Field(description="Open and due before today (UTC)")
    created_by: str
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class PostmortemPublic(BaseModel):
    incident: int
    markdown: str
    summary: str | None
    root_cause: str | None
    lessons_learned: str | None
    impact_notes: str | None
    updated_by: str | None
    updated_at: datetime | None
    action_items: list[ActionItemPublic]


class ResponseTimes(BaseModel):
    """Times in seconds, rounded to the second (``52.753065`` is ``53``): the
    precision a person acts on, and the same on both databases."""

    incidents: int
    acknowledged: int
    resolved: int
    mtta_seconds: float | None = Field(description="Mean time to acknowledge, in seconds")
    p90_tta_seconds: float | None
    mttr_seconds: float | None = Field(description="Mean time to resolve, in seconds")
    p90_ttr_seconds: float | None

    @field_validator("mtta_seconds", "p90_tta_seconds", "mttr_seconds", "p90_ttr_seconds")
    @classmethod
    def _to_the_second(cls, value: float | None) -> float | None:
        return None if value is None else float(round(value))


class ServiceSeverityTimes(ResponseTimes):
    service: str
    severity: str


class ResponderLoad(BaseModel):
    responder: str
    time_zone: str | None
    pages: int = Field(description="SMS and calls sent to them")
    sms: int
    calls: int
    incidents: int
    off_hours_pages: int = Field(
        description="Pages outside 09:00-18:00 Monday to Friday in their time zone"
    )


class ResponseReport(BaseModel):
    since: datetime
    until: datetime
    service: str | None
    overall: ResponseTimes
    by_service_severity: list[ServiceSeverityTimes]
    responders: list[ResponderLoad]
