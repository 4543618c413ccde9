"""Health-check webhooks (uptime and synthetic checkers) → AlertEvents.

A check is ``down`` (or ``fail``) or ``up`` (or ``ok``). Its identity is its
name and labels: ``down`` fires that alert, ``up`` resolves it, so a flapping
check is one alert while it stays down and one incident per outage. The start
of each episode is the open one's (see :mod:`app.sources.episodes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.events import AlertEvent
from app.sources.alertmanager import labels_fingerprint
from app.sources.labels import NulFree

SOURCE = "healthcheck"
RESERVED_LABELS = ("alertname", "source")

LabelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100)]
LabelValue = Annotated[NulFree, StringConstraints(max_length=1000)]


class HealthCheck(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: NulFree = Field(min_length=1, max_length=200, description="The check's name")
    status: Literal["up", "down", "ok", "fail"] = Field(
        description="down or fail fires the check's alert; up or ok resolves it"
    )
    message: str | None = Field(default=None, max_length=4000, description="What the check saw")
    url: NulFree | None = Field(default=None, max_length=2000, description="Where to look")
    labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict,
        max_length=50,
        description="Part of the alert's identity; rules match them (alertname and source "
        "are set by Klaxon)",
    )

    @field_validator("status", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("labels")
    @classmethod
    def _not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for name in RESERVED_LABELS:
            if name in labels:
                raise ValueError(f"label {name!r} is set by Klaxon (alertname is the check name)")
        return labels

    @property
    def failing(self) -> bool:
        return self.status in ("down", "fail")


def to_event(check: HealthCheck, *, received_at: datetime) -> AlertEvent:
    labels = {**check.labels, "alertname": check.name, "source": SOURCE}
    fingerprint = labels_fingerprint(labels)
    annotations: dict[str, str] = {}
    if check.failing:
        annotations["summary"] = f"{check.name} is down"
        if check.message:
            annotations["description"] = check.message
        if check.url:
            annotations["url"] = check.url
    # A resolution carries no annotations: the alert keeps those of its
    # outage, which say why it was down.
    return AlertEvent(
        source=SOURCE,
        fingerprint=fingerprint,
        status="firing" if check.failing else "resolved",
        labels=labels,
        annotations=annotations,
        starts_at=received_at,
        ends_at=None if check.failing else received_at,
        source_group_key=f"healthcheck:{fingerprint}",
        generator_url=check.url or None,
    )
