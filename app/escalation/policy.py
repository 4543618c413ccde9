"""An escalation policy: ordered steps, each paging its targets on its
channels and waiting ``delay_minutes`` before the next; the whole list runs
``repeat + 1`` times while nobody acknowledges.

A step may instead run an action of the rules file (``run: restart-payments``,
``wait: 3m``, app/automation): the next step waits ``wait`` for the alerts to
resolve, and fires at its due time whatever the executor answered. A paging step
may ``offer`` an action: the page asks the responder to reply ``42X`` to run it
(app/automation/approval.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from app.durations import parse_seconds

Channel = Literal["sms", "voice"]
#: Who may acknowledge or resolve an incident from a phone: any responder (one
#: not paged for it is named so on the timeline), or only those it paged.
AckRule = Literal["anyone", "paged-only"]
SILENCE_ON_ACK = (
    "Seconds (or a length like 30m, 1h, 1d) an acknowledgement silences the incident's"
    " alerts in Alertmanager, extended while acknowledged and firing; a route's own"
    " silence_on_ack takes precedence"
)


def _length(value: Any) -> Any:
    if isinstance(value, str) and not value.strip().isdigit():
        seconds = parse_seconds(value.strip(), "dhm")
        if seconds is None:
            raise ValueError(f"silence_on_ack {value!r} must be a length like 30m, 1h or 1d")
        return seconds
    return value


#: A policy's ``silence_on_ack``: seconds or a length, from a minute to a week.
PolicySilence = Annotated[
    Annotated[int, Field(ge=60, le=7 * 86400)] | None, BeforeValidator(_length)
]


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedules: list[str] = Field(default_factory=list)
    responders: list[str] = Field(default_factory=list)


def _sms_and_voice() -> list[Channel]:
    return ["sms", "voice"]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: Targets = Field(default_factory=Targets)
    channels: list[Channel] = Field(default_factory=_sms_and_voice, min_length=1)
    delay_minutes: float = Field(default=5, ge=0, le=24 * 60)
    run: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="An action of the rules file to run instead of paging",
    )
    wait: int | None = Field(
        default=None,
        ge=0,
        le=24 * 3600,
        description="With run: seconds (or a length like 3m) the next step waits for the"
        " alerts to resolve; default delay_minutes",
    )

    offer: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="An action of the rules file the page offers: the paged responder"
        " replies 42X to run it",
    )

    @field_validator("wait", mode="before")
    @classmethod
    def _length(cls, value: Any) -> Any:
        if isinstance(value, str):
            seconds = parse_seconds(value.strip())
            if seconds is None:
                raise ValueError("must be seconds or a length like 90s, 3m, 1h")
            return seconds
        return value

    @model_validator(mode="after")
    def _has_targets(self) -> Step:
        pages = bool(self.targets.schedules or self.targets.responders)
        if self.run is not None and pages:
            raise ValueError("a step either pages (targets) or runs an action (run), not both")
        if self.run is None and not pages:
            raise ValueError("a step needs at least one schedule or responder to page")
        if self.run is None and self.wait is not None:
            raise ValueError("wait is for a step that runs an action; a paging step has delay")
        if self.run is not None and self.offer is not None:
            raise ValueError("offer is for a step that pages; a step that runs an action runs it")
        return self

    def waits(self) -> timedelta:
        """How long the next step waits after this one acted."""
        if self.run is not None and self.wait is not None:
            return timedelta(seconds=self.wait)
        return timedelta(minutes=self.delay_minutes)


class PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")
    steps: list[Step] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10)
    ack: AckRule = Field(
        default="anyone",
        description="Who may acknowledge or resolve by SMS or call: any responder, or only"
        " those paged for the incident (API tokens always may)",
    )
    silence_on_ack: PolicySilence = Field(default=None, description=SILENCE_ON_ACK)

    @classmethod
    def from_row(cls, row: Any) -> PolicySpec:
        """From an ``escalation_policies`` row."""
        return cls.model_validate(
            {
                "name": row.name,
                "steps": row.steps,
                "repeat": row.repeat,
                "ack": row.ack,
                "silence_on_ack": row.silence_on_ack,
            }
        )

    def position_after(self, round_: int, step_index: int) -> tuple[int, int] | None:
        """The step that follows, or None when the policy is exhausted."""
        if step_index + 1 < len(self.steps):
            return round_, step_index + 1
        if round_ < self.repeat:
            return round_ + 1, 0
        return None
