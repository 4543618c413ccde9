"""An escalation policy: ordered steps, each paging its targets on its
channels and waiting ``delay_minutes`` before the next; the whole list runs
``repeat + 1`` times while nobody acknowledges."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Channel = Literal["sms", "voice"]
#: Who may acknowledge or resolve an incident from a phone: any responder (one
#: not paged for it is named so on the timeline), or only those it paged.
AckRule = Literal["anyone", "paged-only"]


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedules: list[str] = Field(default_factory=list)
    responders: list[str] = Field(default_factory=list)


def _sms_and_voice() -> list[Channel]:
    return ["sms", "voice"]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: Targets
    channels: list[Channel] = Field(default_factory=_sms_and_voice, min_length=1)
    delay_minutes: float = Field(default=5, ge=0, le=24 * 60)

    @model_validator(mode="after")
    def _has_targets(self) -> Step:
        if not self.targets.schedules and not self.targets.responders:
            raise ValueError("a step needs at least one schedule or responder to page")
        return self


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

    @classmethod
    def from_row(cls, row: Any) -> PolicySpec:
        """From an ``escalation_policies`` row."""
        return cls.model_validate(
            {"name": row.name, "steps": row.steps, "repeat": row.repeat, "ack": row.ack}
        )

    def position_after(self, round_: int, step_index: int) -> tuple[int, int] | None:
        """The step that follows, or None when the policy is exhausted."""
        if step_index + 1 < len(self.steps):
            return round_, step_index + 1
        if round_ < self.repeat:
            return round_ + 1, 0
        return None
