"""A heartbeat's declaration, shared by the JSON API and ``klaxon apply``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from app import durations
from app.models import Heartbeat, alerts_table, incidents_table
from app.sources.healthcheck import LabelName, LabelValue

HEARTBEAT_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
HeartbeatName = Annotated[str, Field(min_length=1, max_length=200, pattern=HEARTBEAT_NAME_PATTERN)]
RESERVED_LABELS = ("alertname", "heartbeat", "source", "severity")
MAX_SECONDS = int(timedelta(days=366).total_seconds())
DEFAULT_GRACE = 300
#: The expiry alert's ``service`` label becomes its alert's and incident's
#: service: longer than those columns, every expiry would fail. (The name,
#: the other label stored in a column, is bounded by HeartbeatName.)
SERVICE_MAX: int = min(
    getattr(table.c.service.type, "length", 0) for table in (alerts_table, incidents_table)
)


def to_seconds(value: Any) -> Any:
    """Seconds, or a duration like ``"90s"``, ``"5m"``, ``"1h30m"``, ``"1d"``, ``"1w"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '5m'")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        return value  # an int passes; anything else fails as not an integer
    text = value.strip()
    if text.isdigit():
        return int(text)
    seconds = durations.parse_seconds(text, "wdhms")
    if seconds is None:
        raise ValueError(f"duration {value!r} must be seconds or like '90s', '5m', '1h30m', '1d'")
    return seconds


def _duration_schema(minimum: int) -> WithJsonSchema:
    # The bounds are in the document too, so clients (and the fuzzer) see them.
    seconds = {"type": "integer", "minimum": minimum, "maximum": MAX_SECONDS}
    return WithJsonSchema(
        {
            "anyOf": [seconds, {"type": "string", "examples": ["90s", "5m", "1h", "1d"]}],
            "description": "Seconds, or a duration like 90s, 5m, 1h30m, 1d, 1w",
        }
    )


Interval = Annotated[
    int, BeforeValidator(to_seconds), Field(ge=1, le=MAX_SECONDS), _duration_schema(1)
]
Grace = Annotated[
    int, BeforeValidator(to_seconds), Field(ge=0, le=MAX_SECONDS), _duration_schema(0)
]
AlertSeverity = Literal["critical", "error", "warning", "info"]


class _HeartbeatFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval: Interval = Field(description="How often a ping is expected")
    grace: Grace = Field(
        default=DEFAULT_GRACE, description="How late a ping may be before the heartbeat expires"
    )
    severity: AlertSeverity = Field(
        default="critical", description="The expiry alert's severity label, classified by the rules"
    )
    labels: dict[LabelName, LabelValue] = Field(
        default_factory=dict, max_length=50, description="More labels for the expiry alert"
    )
    description: str | None = Field(
        default=None, max_length=1000, description="Said in the expiry alert: what has stopped"
    )

    @field_validator("labels")
    @classmethod
    def _not_reserved(cls, labels: dict[str, str]) -> dict[str, str]:
        for name in RESERVED_LABELS:
            if name in labels:
                raise ValueError(f"label {name!r} is set by Klaxon")
        return labels

    @field_validator("labels")
    @classmethod
    def _expiry_can_page(cls, labels: dict[str, str]) -> dict[str, str]:
        service = labels.get("service")
        if service is not None and len(service) > SERVICE_MAX:
            raise ValueError(
                f"label 'service' may be at most {SERVICE_MAX} characters, not {len(service)}:"
                " the expiry alert's incident is filed under it"
            )
        return labels


class HeartbeatSpec(_HeartbeatFields):
    """A heartbeat monitor, as ``klaxon apply`` takes it."""

    name: HeartbeatName


class HeartbeatBody(_HeartbeatFields):
    """A heartbeat for ``PUT /heartbeats/{name}``: the name comes from the path."""

    name: HeartbeatName | None = None

    def with_name(self, name: str) -> HeartbeatSpec:
        return HeartbeatSpec.model_validate({**self.model_dump(exclude={"name"}), "name": name})


HeartbeatStatus = Literal["up", "late", "expired"]


class HeartbeatPublic(BaseModel):
    name: str
    interval: int = Field(description="Seconds")
    grace: int = Field(description="Seconds")
    severity: str
    labels: dict[str, str]
    description: str | None
    status: HeartbeatStatus = Field(
        description="up; late (past the interval, within the grace); expired (its alert fires)"
    )
    expires_at: datetime | None = Field(
        description="When it expires without a ping; None if it has"
    )
    expired_at: datetime | None = Field(description="When it last expired")
    last_ping_at: datetime | None
    pings: int
    ping_path: str = Field(description="Where to ping it (GET or POST, with an ingest token)")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Heartbeat, *, now: datetime) -> HeartbeatPublic:
        status: HeartbeatStatus = "expired" if row.status == "expired" else "up"
        if status == "up" and now >= row.expires_at - timedelta(seconds=row.grace_seconds):
            status = "late"
        return cls(
            name=row.name,
            interval=row.interval_seconds,
            grace=row.grace_seconds,
            severity=row.severity,
            labels=dict(row.labels),
            description=row.description,
            status=status,
            expires_at=None if status == "expired" else row.expires_at,
            expired_at=row.expired_at,
            last_ping_at=row.last_ping_at,
            pings=row.pings,
            ping_path=f"/api/v1/heartbeats/{row.name}/ping",
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
