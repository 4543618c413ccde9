"""Change events in: PagerDuty's (``POST /v2/change/enqueue``) and Klaxon's own
deploy webhook (``POST /api/v1/webhooks/change``) → :class:`ChangeRecord`.

A PagerDuty change event names no service: as for ``/v2/enqueue``, its fields
become labels and the rules file's routes name the service. Labels: ``source``,
``alertname`` (``PagerDutyChange``), and each top-level text of
``custom_details`` (``service``, ``environment``, ...), so a route with
``service`` or a ``service`` detail decides it. The webhook names its service.

Bounds: texts as PagerDuty's (summary up to 1024 characters), links up to 100,
and a time no further back than :data:`MAX_AGE` and no later than
:data:`MAX_SKEW` ahead of the receiver's clock (within it, the receiver's time
is kept: no change is dated in the future).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.sources.pagerduty import Link

MAX_BODY_BYTES = 512 * 1024
MAX_AGE = timedelta(days=90)  # PagerDuty keeps change events 90 days
MAX_SKEW = timedelta(minutes=5)
ALERTNAME = "PagerDutyChange"
_MAX_LABELS = 50


class PdChangePayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    summary: str = Field(min_length=1, max_length=1024)
    source: str | None = Field(default=None, max_length=1024)
    timestamp: AwareDatetime | None = None
    custom_details: dict[str, Any] | None = None


class PdChangeEvent(BaseModel):
    """PagerDuty's change event. Its ``routing_key`` is a Klaxon ingest token."""

    model_config = ConfigDict(extra="ignore")

    routing_key: str = Field(min_length=1, max_length=200)
    payload: PdChangePayload
    links: list[Link] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _storable(self) -> PdChangeEvent:
        texts = [self.payload.summary, self.payload.source or ""]
        texts += [part for link in self.links for part in (link.href, link.text or "")]
        if any("\x00" in text for text in texts):
            raise ValueError("texts must not contain NUL characters (\\u0000)")
        return self


def _no_control(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 32 or c == "\x7f" for c in value):
        raise ValueError("must not contain control characters (newlines, tabs, NUL)")
    return value


class DeployChange(BaseModel):
    """A change, as a deploy pipeline or a person reports it."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200, examples=["payments"])
    summary: str = Field(min_length=1, max_length=1024, examples=["Deployment #5678 to production"])
    version: str | None = Field(default=None, max_length=200, examples=["v2.14.1"])
    link: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://[^\s\x00-\x1f\x7f]+$",
        description="http(s) URL: the pipeline run, the pull request, the diff",
    )
    who: str | None = Field(default=None, max_length=200, description="Who made the change")
    when: AwareDatetime | None = Field(
        default=None,
        description="When it happened (default: when received); within the last 90 days and"
        " no more than 5 minutes ahead. Send it to make retries safe: the same change at the"
        " same time is stored once.",
    )

    @field_validator("service", "summary", "version", "who")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _no_control(value)


@dataclass
class ChangeRecord:
    """One change, ready to store."""

    service: str
    summary: str
    at: datetime
    via: str
    version: str | None = None
    who: str | None = None
    source: str | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    custom_details: Any = None
    dedup_key: str | None = None


class TimeOutOfRange(ValueError):
    """A change's time too far in the past or the future."""


def change_time(sent: datetime | None, *, now: datetime) -> datetime:
    """The time to store: the sender's, bounded; ``now`` without one."""
    if sent is None:
        return now
    sent = sent.astimezone(UTC)
    if sent > now + MAX_SKEW:
        raise TimeOutOfRange(f"is more than {MAX_SKEW.seconds // 60} minutes in the future")
    if sent < now - MAX_AGE:
        raise TimeOutOfRange(f"is more than {MAX_AGE.days} days in the past")
    return min(sent, now)


def _dedup_key(record: ChangeRecord, sent: datetime | None) -> str | None:
    if sent is None:
        return None  # no time of its own: every delivery is its own change
    what = [
        record.via,
        record.service,
        record.summary,
        record.version,
        record.who,
        record.source,
        record.links,
        record.custom_details,
        sent.astimezone(UTC).isoformat(),
    ]
    return hashlib.sha256(orjson.dumps(what, option=orjson.OPT_SORT_KEYS)).hexdigest()


def pagerduty_labels(event: PdChangeEvent) -> dict[str, str]:
    """The labels the rules' routes match to find the change's service."""
    labels: dict[str, str] = {}
    for name, value in list((event.payload.custom_details or {}).items())[:_MAX_LABELS]:
        if isinstance(value, str) and 0 < len(name) <= 100 and len(value) <= 1024:
            labels[name] = value
    labels["alertname"] = ALERTNAME
    if event.payload.source:
        labels["source"] = event.payload.source
    return labels


def from_pagerduty(event: PdChangeEvent, service: str, *, now: datetime) -> ChangeRecord:
    payload = event.payload
    record = ChangeRecord(
        service=service,
        summary=payload.summary,
        at=change_time(payload.timestamp, now=now),
        via="pagerduty",
        source=payload.source,
        links=[link.model_dump(exclude_none=True) for link in event.links],
        custom_details=payload.custom_details,
    )
    record.dedup_key = _dedup_key(record, payload.timestamp)
    return record


def from_webhook(change: DeployChange, *, now: datetime) -> ChangeRecord:
    record = ChangeRecord(
        service=change.service,
        summary=change.summary,
        at=change_time(change.when, now=now),
        via="webhook",
        version=change.version,
        who=change.who,
        links=[{"href": change.link}] if change.link else [],
    )
    record.dedup_key = _dedup_key(record, change.when)
    return record
