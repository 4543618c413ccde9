"""AlertEvent: what every source produces and every stage consumes.

An event fits its columns whatever its source sent: a fingerprint past
:data:`FINGERPRINT_MAX` is cut with a hash of the whole (it stays one
identity, distinct from others), and its name and title are one line, cut
with ``…`` (app.text). Nothing about one long value refuses a notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from app.text import clip, clip_key, one_line

AlertStatus = Literal["firing", "resolved"]
FINGERPRINT_MAX = 255  # alerts.fingerprint
NAME_MAX = 500  # alerts.name, incidents.title

#: SEV1 complete outage or data loss, SEV2 major function impaired, SEV3 partial
#: degradation, SEV4 minor; classified by the rules (``app.rules``).
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


@dataclass(frozen=True)
class AlertEvent:
    source: str  # "alertmanager", "healthcheck", "pagerduty", ...
    fingerprint: str  # the alert's identity within its source
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime  # start of this firing episode, aware UTC
    ends_at: datetime | None  # aware UTC; None while firing
    source_group_key: str  # how the source grouped it; the default incident key
    generator_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", clip_key(self.fingerprint, FINGERPRINT_MAX))

    @property
    def name(self) -> str:
        labels, annotations = self.labels, self.annotations
        return _line(labels.get("alertname"), annotations.get("summary"), self.fingerprint)

    @property
    def title(self) -> str:
        labels, annotations = self.labels, self.annotations
        return _line(annotations.get("summary"), labels.get("alertname"), self.fingerprint)


def _line(*choices: str | None) -> str:
    """The first choice that says something, on one line and cut to fit."""
    for choice in choices:
        line = one_line(choice or "")
        if line:
            return clip(line, NAME_MAX)
    return "(no name)"


#: The times an alert may carry. A start or end outside them is refused (a
#: 422 naming the field): before 2000 it is a broken clock or a zero value,
#: and more than a day ahead it cannot be clock skew. Within the window, a
#: stored start that is still in the future never makes a notification of the
#: present stale (``app.ingest.episode_rule``).
EARLIEST_ALERT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
ALERT_TIME_AHEAD = timedelta(hours=24)


def utc_alert_time(value: datetime, *, now: datetime | None) -> datetime:
    """``value`` in UTC (naive means UTC), or ValueError saying why it is
    refused: unrepresentable in UTC, or outside the window around ``now``
    (not checked when ``now`` is None)."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of dates") from None
    if now is None:
        return utc
    if utc < EARLIEST_ALERT_TIME:
        raise ValueError(f"is before {EARLIEST_ALERT_TIME:%Y-%m-%d}, the earliest time accepted")
    if utc > now + ALERT_TIME_AHEAD:
        raise ValueError(
            f"is more than {ALERT_TIME_AHEAD.total_seconds() / 3600:g} hours after now "
            f"({now:%Y-%m-%dT%H:%M:%SZ}); a clock is wrong"
        )
    return utc
