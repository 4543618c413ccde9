"""A maintenance window's declaration, shared by the JSON API and ``klaxon apply``
(a ``maintenance:`` list), and what the API answers about one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from app.heartbeats.schemas import to_seconds
from app.instants import LooseInstant
from app.maintenance import windows
from app.models import MaintenanceWindow
from app.rules.matchers import MatcherError, parse_matchers

WINDOW_NAME_PATTERN = r"^[A-Za-z0-9_.-][A-Za-z0-9_. -]*$"
WindowName = Annotated[str, Field(min_length=1, max_length=200, pattern=WINDOW_NAME_PATTERN)]
MAX_DURATION = int(timedelta(days=31).total_seconds())
Duration = Annotated[
    int,
    BeforeValidator(to_seconds),
    Field(ge=60, le=MAX_DURATION),
    # Strings are taken too, and the document says so (clients and the fuzzer read it).
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 60, "maximum": MAX_DURATION},
                {"type": "string", "examples": ["90m", "2h", "1d"]},
            ],
            "description": "Seconds, or a duration like 90m, 2h, 1d",
        }
    ),
]
ServiceName = Annotated[str, Field(min_length=1, max_length=200)]
MatcherText = Annotated[str, Field(min_length=1, max_length=1000)]


class WindowFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="Why: shown on the timeline")
    author: str | None = Field(
        default=None, max_length=200, description="Who planned it (default: the token's name)"
    )
    time_zone: str = Field(default="UTC", max_length=64, description="IANA time zone")
    starts_at: LooseInstant = Field(
        description="Start; without a UTC offset it is wall time in time_zone. A recurring"
        " window's occurrences start at this wall-clock time"
    )
    ends_at: LooseInstant | None = Field(
        default=None, description="End of a one-off window (not with rrule)"
    )
    rrule: str | None = Field(
        default=None,
        max_length=500,
        description="RFC 5545 RRULE of a recurring window, e.g. FREQ=WEEKLY;BYDAY=SU",
    )
    duration: Duration | None = Field(
        default=None, description="Length of each occurrence of a recurring window"
    )
    matchers: list[MatcherText] = Field(
        default_factory=list,
        max_length=20,
        description='Alertmanager-style matchers, e.g. service="db" or instance=~"db-.*"',
    )
    services: list[ServiceName] = Field(
        default_factory=list, max_length=50, description="Services it covers"
    )
    quiet_open_incidents: bool = Field(
        default=False, description="Also hold the escalation of matching incidents already open"
    )
    public_title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Show it on the status page as scheduled maintenance, under this title"
        " (nothing else of the window is shown there but its times, the description below"
        " and the status page components of its services)",
    )
    public_description: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="What the status page says about it (with public_title)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> WindowFields:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone: unknown IANA time zone {self.time_zone!r}") from None
        self.starts_at = _aware(self.starts_at, zone)
        if self.ends_at is not None:
            self.ends_at = _aware(self.ends_at, zone)
        if not self.matchers and not self.services:
            raise ValueError("a window needs matchers or services: it would cover every alert")
        if self.public_description is not None and self.public_title is None:
            raise ValueError("public_description needs public_title: untitled, it is not shown")
        for text in self.matchers:
            try:
                parse_matchers(text)
            except MatcherError as exc:
                raise ValueError(f"matchers: {exc}") from None
        if self.rrule is None:
            if self.ends_at is None or self.duration is not None:
                raise ValueError("a one-off window has ends_at (a recurring one rrule + duration)")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
        else:
            if self.duration is None or self.ends_at is not None:
                raise ValueError("a recurring window has rrule and duration, not ends_at")
            local = self.starts_at.astimezone(zone).replace(tzinfo=None)
            windows.parse_rule(self.rrule, local, zone)
        return self

    def to_window(self, name: str, window_id: int | None = None) -> windows.Window:
        return windows.Window(
            id=window_id,
            name=name,
            reason=self.reason,
            time_zone=self.time_zone,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            rrule=self.rrule,
            duration_seconds=self.duration,
            matchers=tuple(self.matchers),
            services=tuple(self.services),
            quiet_open_incidents=self.quiet_open_incidents,
        )


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


class WindowSpec(WindowFields):
    """A maintenance window, named: the API's body and an apply file's item."""

    name: WindowName


class OccurrencePublic(BaseModel):
    start: datetime
    end: datetime


class WindowPublic(BaseModel):
    id: int
    name: str
    reason: str
    author: str
    time_zone: str
    starts_at: datetime
    ends_at: datetime | None
    rrule: str | None
    duration: int | None = Field(description="Seconds, for a recurring window")
    matchers: list[str]
    services: list[str]
    quiet_open_incidents: bool
    public_title: str | None = Field(
        default=None, description="Its title on the status page (None: not shown there)"
    )
    public_description: str | None = None
    ended_at: datetime | None = Field(description="When it was ended early")
    active: bool = Field(description="Whether an occurrence is in force now")
    current_or_next: OccurrencePublic | None = Field(
        description="The occurrence in force now, else the next one (None when none is left)"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: MaintenanceWindow, *, now: datetime) -> WindowPublic:
        window = windows.Window.of(row)
        upcoming = windows.next_occurrence(window, now)
        return cls(
            **row.model_dump(exclude={"duration_seconds"}),
            duration=row.duration_seconds,
            active=windows.active(window, now) is not None,
            current_or_next=None
            if upcoming is None
            else OccurrencePublic(start=upcoming.start, end=upcoming.end),
        )
