"""What the incident-response API takes and returns: reports, triage, notes,
added responders, status updates and stakeholders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.incidents.schemas import RolesPublic
from app.instants import Instant
from app.oncall.schemas import RESPONDER_NAME_PATTERN, normalize_phone
from app.rules import Severity
from app.text import one_line

Phase = Literal["investigating", "identified", "monitoring", "resolved"]
PHASES: tuple[Phase, ...] = ("investigating", "identified", "monitoring", "resolved")

ServiceName = Annotated[str, Field(min_length=1, max_length=200, examples=["payments"])]
Region = Annotated[
    str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["eu-west-1"])
]
MAX_CUSTOMERS = 2**31 - 1


def _affected_customers(value: object) -> object:
    """A count (0 to 2^31-1), or a range or estimate as text, up to 100
    characters on one line; anything else is refused naming the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_CUSTOMERS:
            raise ValueError(f"a count must be between 0 and {MAX_CUSTOMERS}")
        return value
    if isinstance(value, str):
        if not value.strip() or len(value) > 100:
            raise ValueError("a text must have 1 to 100 characters")
        if any(ord(c) < 32 or c == "\x7f" for c in value):
            raise ValueError("a text must be one line, without control characters")
        return value
    raise ValueError('must be a count (1200) or a text such as "1000-5000" or "~3k"')


# The count's bounds are also declared, so the document says them (the
# validator above checks them first, with its own message).
AffectedCustomers = Annotated[
    Annotated[int, Field(ge=0, le=MAX_CUSTOMERS)] | str, BeforeValidator(_affected_customers)
]
By = Annotated[
    str | None,
    Field(max_length=200, description="Who acts; defaults to the token's name"),
]


def _one_line_title(value: str) -> str:
    title = one_line(value)
    if not title:
        raise ValueError("a title needs a visible character")
    return title


# A title is one line: line breaks and control characters become one space, so
# no title can add a line (a fake "Status: Resolved") to a text it is shown in.
Title = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_one_line_title)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentReport(_Body):
    """An incident a person reports: a customer report, a failing synthetic check."""

    title: Title = Field(examples=["Payment Service Degraded"])
    severity: Severity
    service: ServiceName
    description: str | None = Field(default=None, max_length=10000)
    by: By = None


class TriageUpdate(_Body):
    """What a responder learns. Fields left out stay as they are; ``null`` clears
    one (title and severity cannot be cleared)."""

    title: Title | None = None
    severity: Severity | None = None
    impact: str | None = Field(
        default=None, max_length=2000, examples=["50% of payment requests failing"]
    )
    affected_customers: AffectedCustomers | None = Field(
        default=None,
        description='A count (1200) or a range or estimate as text ("1000-5000", "~3k");'
        " up to 100 characters",
        examples=[1200, "1000-5000", "~3k"],
    )
    affected_services: list[ServiceName] | None = Field(
        default=None, max_length=50, description="Other services affected, besides its own"
    )
    regions: list[Region] | None = Field(
        default=None, max_length=50, description="Regions affected", examples=[["eu-west-1"]]
    )
    started_at: Instant | None = Field(
        default=None, description="When the impact began; may be before the incident was opened"
    )
    recent_changes: str | None = Field(
        default=None, max_length=5000, description="Deploys, config changes"
    )
    workaround: str | None = Field(default=None, max_length=5000)
    by: By = None

    @model_validator(mode="after")
    def _required_stay(self) -> TriageUpdate:
        for name in ("title", "severity"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self

    def changes(self) -> dict[str, object]:
        """The fields the request sets, ``by`` aside, as stored (a count of
        affected customers as its text)."""
        found = {name: getattr(self, name) for name in sorted(self.model_fields_set)}
        found.pop("by", None)
        if isinstance(found.get("affected_customers"), int):
            found["affected_customers"] = str(found["affected_customers"])
        return found


class NoteCreate(_Body):
    text: str = Field(min_length=1, max_length=5000)
    at: Instant | None = Field(
        default=None,
        description="When it happened, if earlier than now (a deploy before the page): "
        "shown at that time, marked with when it was added. Not in the future (a minute "
        "of clock skew is allowed) nor more than a day before the incident's impact began.",
        examples=["2026-01-15T14:30:00Z"],
    )
    by: By = None


class ResponderAdd(_Body):
    responder: str = Field(
        min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN, examples=["bob"]
    )
    by: By = None


class ResponderAdded(BaseModel):
    incident: int
    responder: str
    channels: list[str] = Field(description="What is being sent to them now")


class StatusUpdateCreate(_Body):
    phase: Phase
    message: str = Field(min_length=1, max_length=2000)
    by: By = None


class StatusUpdatePublic(BaseModel):
    """A status update as posted, with what the incident said at that moment."""

    id: int
    incident: int
    title: str
    phase: Phase
    status: str = Field(description="The phase as people read it", examples=["Investigating"])
    severity: str
    impact: str
    started_at: datetime
    message: str
    by: str
    at: datetime
    text: str = Field(description="The update to paste into a channel")
    roles: RolesPublic | None = Field(
        default=None, description="Who held the roles when it was posted; null if nobody"
    )
    next_update_at: datetime | None = Field(
        default=None, description="When the next update was due (the severity's cadence)"
    )


class StakeholderSpec(_Body):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(description="E.164; normalized", examples=["+15551230009"])
    opt_in: bool = Field(
        default=False, description="Only stakeholders who opted in get status updates by SMS"
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)


class StakeholderList(_Body):
    stakeholders: list[StakeholderSpec] = Field(max_length=200)


class StakeholderPublic(BaseModel):
    name: str
    phone: str = Field(
        description="E.164; masked to its last 4 digits (+*******0009) unless the token"
        " may change it (config or admin scope)"
    )
    opt_in: bool
    created_at: datetime
    updated_at: datetime


class ServiceStakeholders(BaseModel):
    service: str
    stakeholders: list[StakeholderPublic]


class RoleAssign(_Body):
    """Who takes a role."""

    responder: str = Field(
        min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN, examples=["alice"]
    )
    by: By = None
