"""The on-call API's answers. Phone numbers in them are shown as the token may
see them (``Principal.shown_phone``): whole to ``config`` and ``admin``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.oncall.schemas import LayerSpec

PHONE_SHOWN = (
    "E.164; masked to its last 4 digits (+*******0001) unless the token may change it"
    " (config or admin scope)"
)


class ResponderPublic(BaseModel):
    name: str
    phone: str = Field(description=PHONE_SHOWN)
    time_zone: str
    created_at: datetime
    updated_at: datetime
    slack_user_id: str | None = None
    mattermost_user_id: str | None = None


class OverridePublic(BaseModel):
    id: int
    start: datetime
    end: datetime
    responder: str
    created_at: datetime
    created_by: str | None = Field(
        description="The token (or `klaxon apply`) that made it; None if not recorded"
    )


class SchedulePublic(BaseModel):
    name: str
    time_zone: str
    layers: list[LayerSpec]
    services: list[str]
    created_at: datetime
    updated_at: datetime


class ScheduleDetail(SchedulePublic):
    overrides: list[OverridePublic] = Field(description="Current and upcoming overrides")
    warnings: list[str] = Field(
        description="Anyone on call without a break for more than 7 days in the next 8 weeks"
    )


class OnCallResponder(BaseModel):
    name: str
    phone: str | None = Field(description=PHONE_SHOWN + "; None if the responder no longer exists")
    time_zone: str | None


class OnCallPublic(BaseModel):
    schedule: str
    at: datetime
    responder: OnCallResponder | None = Field(description="None when nobody is on call")
    until: datetime | None = Field(
        description="When the answer next changes; None if not within a year"
    )
    source: str | None = Field(description="The layer's name, or 'override'")


class ShiftPublic(BaseModel):
    responder: str
    start: datetime
    end: datetime
    source: str


class ShiftsPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    schedule: str
    from_: datetime = Field(alias="from")
    to: datetime
    shifts: list[ShiftPublic]
    warnings: list[str]
