"""PagerDuty's Events API v2 (``POST /v2/enqueue``) → AlertEvents.

Anything that can page through PagerDuty can page through Klaxon by pointing
its events URL here, with a Klaxon ingest token as its ``routing_key``.

Identity is the ``dedup_key`` (one is made for a trigger without one). Every
dedup key is one alert, and by default one incident, as in PagerDuty; routes
with ``group_by`` group them further. The payload's fields become labels that
rules match: ``severity``, ``source``, ``component``, ``group``, ``class``, and
``alertname`` (the ``class``, else ``PagerDutyEvent``); the ``summary`` is the
alert's summary annotation, so it titles the incident.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.events import AlertEvent, utc_alert_time
from app.sources.labels import NulFree

SOURCE = "pagerduty"
DEFAULT_ALERTNAME = "PagerDutyEvent"
MAX_BODY_BYTES = 512 * 1024
MAX_DETAILS_DEPTH = 64

Action = Literal["trigger", "acknowledge", "resolve"]
PdSeverity = Literal["critical", "error", "warning", "info"]


class _Lenient(BaseModel):
    # Senders put more in their events than Klaxon uses; PagerDuty ignores it too.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Link(_Lenient):
    href: str = Field(min_length=1, max_length=2000)
    text: str | None = None


class Image(_Lenient):
    src: str = Field(min_length=1, max_length=2000)
    href: str | None = None
    alt: str | None = None


def _shallow(value: Any) -> Any:
    """``value`` if it nests at most :data:`MAX_DETAILS_DEPTH` levels deep."""
    level = [value]
    for _ in range(MAX_DETAILS_DEPTH):
        level = [
            inner
            for item in level
            if isinstance(item, dict | list)
            for inner in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return value
    if any(isinstance(item, dict | list) for item in level):
        raise ValueError(f"nests deeper than {MAX_DETAILS_DEPTH} levels")
    return value


class Payload(_Lenient):
    # The fields that become labels are identities: no NUL (app.sources.labels).
    summary: str = Field(min_length=1, max_length=1024)
    source: NulFree = Field(min_length=1, max_length=1024)
    severity: PdSeverity
    timestamp: AwareDatetime | None = None
    component: NulFree | None = Field(default=None, max_length=1024)
    group: NulFree | None = Field(default=None, max_length=1024)
    class_: NulFree | None = Field(default=None, alias="class", max_length=1024)
    # Stored as JSON text; nothing real nests deeper, and the JSON writer stops at 255.
    custom_details: Annotated[Any, AfterValidator(_shallow)] = None

    @field_validator("timestamp")
    @classmethod
    def _within_the_window(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """Only an annotation, but held to the window every alert time is
        (``app.events``) around the time of receipt (``context["now"]``)."""
        if value is None:
            return None
        now = info.context.get("now") if isinstance(info.context, dict) else None
        return utc_alert_time(value, now=now)


class PdEvent(_Lenient):
    routing_key: str = Field(min_length=1, max_length=200)
    event_action: Action
    dedup_key: NulFree | None = Field(default=None, min_length=1, max_length=255)
    payload: Payload | None = None
    client: str | None = Field(default=None, max_length=1024)
    client_url: NulFree | None = Field(default=None, max_length=2000)
    links: list[Link] = Field(default_factory=list, max_length=100)
    images: list[Image] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _complete(self) -> PdEvent:
        if self.event_action == "trigger":
            if self.payload is None:
                raise ValueError("'payload' is required to trigger")
        elif self.dedup_key is None:
            raise ValueError(f"'dedup_key' is required to {self.event_action}")
        return self


def new_dedup_key() -> str:
    return uuid.uuid4().hex


def labels_of(payload: Payload) -> dict[str, str]:
    labels = {
        "alertname": payload.class_ or DEFAULT_ALERTNAME,
        "severity": payload.severity,
        "source": payload.source,
    }
    for name, value in (
        ("component", payload.component),
        ("group", payload.group),
        ("class", payload.class_),
    ):
        if value:
            labels[name] = value
    return labels


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def trigger_event(event: PdEvent, dedup_key: str, *, received_at: datetime) -> AlertEvent:
    payload = event.payload
    assert payload is not None  # checked by the model
    annotations = {"summary": payload.summary}
    if payload.timestamp is not None:
        annotations["timestamp"] = payload.timestamp.isoformat()
    if payload.custom_details is not None:
        annotations["custom_details"] = _json(payload.custom_details)
    if event.client:
        annotations["client"] = event.client
    if event.links:
        annotations["links"] = _json([link.model_dump(exclude_none=True) for link in event.links])
    if event.images:
        annotations["images"] = _json([i.model_dump(exclude_none=True) for i in event.images])
    return AlertEvent(
        source=SOURCE,
        fingerprint=dedup_key,
        status="firing",
        labels=labels_of(payload),
        annotations=annotations,
        starts_at=received_at,
        ends_at=None,
        source_group_key=f"pagerduty:{dedup_key}",
        generator_url=event.client_url or None,
    )


def resolve_event(dedup_key: str, *, received_at: datetime) -> AlertEvent:
    """A resolution: it acts on the stored episode, so labels do not matter
    (nor does grouping) and the annotations of the trigger stay."""
    return AlertEvent(
        source=SOURCE,
        fingerprint=dedup_key,
        status="resolved",
        labels={"alertname": DEFAULT_ALERTNAME},
        annotations={},
        starts_at=received_at,
        ends_at=received_at,
        source_group_key=f"pagerduty:{dedup_key}",
    )
