"""Prometheus Alertmanager's webhook payload (version 4) → AlertEvents."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.events import AlertEvent, utc_alert_time
from app.sources.labels import Labels, NulFree

SOURCE = "alertmanager"
# Alertmanager sends Go's zero time for "no end" on firing alerts.
_GO_ZERO_YEAR = 1
_NUL = "contains a NUL character (\\u0000), which cannot be stored"


class AmAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: Labels = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: NulFree | None = None
    # Longer ones are cut to the column with a hash of the whole (AlertEvent).
    fingerprint: NulFree | None = None

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _within_the_window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """Times in UTC, within ``app.events``' window around the time of
        receipt (``context["now"]``); ``endsAt`` may be Go's zero time, which
        Alertmanager sends for "no end"."""
        if value is None:
            return None
        now = info.context.get("now") if isinstance(info.context, dict) else None
        if info.field_name == "endsAt" and _is_go_zero(value):
            return None
        return utc_alert_time(value, now=now)

    @field_validator("annotations")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """PostgreSQL cannot store a NUL; refused here, before anything is written
        (labels, fingerprint and generatorURL are ``NulFree`` by their types)."""
        if isinstance(value, dict):
            for key, text in value.items():
                if "\x00" in key or "\x00" in text:
                    raise ValueError(f"{key[:100]!r} {_NUL}")
        elif isinstance(value, str) and "\x00" in value:
            raise ValueError(_NUL)
        return value


class AmWebhook(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    receiver: str = ""
    status: Literal["firing", "resolved"]
    alerts: list[AmAlert]
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    groupKey: NulFree = ""
    truncatedAlerts: int = Field(default=0, ge=0, le=2**31 - 1)


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable identity from sorted labels, for senders that give no fingerprint."""
    canonical = "\xff".join(f"{k}\xfe{labels[k]}" for k in sorted(labels))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_go_zero(value: datetime) -> bool:
    try:
        return _aware(value).year <= _GO_ZERO_YEAR
    except OverflowError:
        return False


def _end(value: datetime | None) -> datetime | None:
    if value is None or value.year <= _GO_ZERO_YEAR:
        return None
    return _aware(value)


def to_events(payload: AmWebhook, *, received_at: datetime) -> list[AlertEvent]:
    """One event per alert, each acting on its own status (a firing group can
    carry resolved alerts)."""
    group_key = payload.groupKey or (
        "{}:" + ",".join(f"{k}={v!r}" for k, v in sorted(payload.groupLabels.items()))
    )
    events = []
    for alert in payload.alerts:
        ends_at = _end(alert.endsAt)
        if alert.status == "firing":
            # Prometheus-style senders put a future endsAt on firing alerts; it
            # is a lease, not an end.
            ends_at = None
        elif ends_at is None:
            ends_at = received_at
        events.append(
            AlertEvent(
                source=SOURCE,
                fingerprint=alert.fingerprint or labels_fingerprint(alert.labels),
                status=alert.status,
                labels=dict(alert.labels),
                annotations=dict(alert.annotations),
                starts_at=_aware(alert.startsAt),
                ends_at=ends_at,
                source_group_key=f"am:{group_key}",
                generator_url=alert.generatorURL or None,
            )
        )
    return events
