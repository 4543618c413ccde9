"""A heartbeat's alert: fired when it expires, resolved by its next ping.

Labels: ``alertname="Heartbeat"``, ``heartbeat="{name}"``, ``source="heartbeat"``,
``severity`` and the heartbeat's own labels, so rules classify and route it
like any alert. Its identity is the heartbeat's name; each expiry is an
episode that starts when the heartbeat expired (``expires_at``), which a
replica retrying the expiry computes the same way.
"""

from __future__ import annotations

from datetime import datetime

from app import durations
from app.events import AlertEvent
from app.models import Heartbeat

SOURCE = "heartbeat"
ALERTNAME = "Heartbeat"


def labels_of(heartbeat: Heartbeat) -> dict[str, str]:
    return {
        **heartbeat.labels,
        "alertname": ALERTNAME,
        "heartbeat": heartbeat.name,
        "source": SOURCE,
        "severity": heartbeat.severity,
    }


def expired_event(heartbeat: Heartbeat, *, expired_at: datetime) -> AlertEvent:
    last = heartbeat.last_ping_at
    since = f"last ping {last.isoformat()}" if last is not None else "never pinged"
    description = (
        f"No ping within {durations.compact(heartbeat.interval_seconds)} "
        f"+ {durations.compact(heartbeat.grace_seconds)} grace ({since})."
    )
    if heartbeat.description:
        description = f"{heartbeat.description} {description}"
    return AlertEvent(
        source=SOURCE,
        fingerprint=heartbeat.name,
        status="firing",
        labels=labels_of(heartbeat),
        annotations={"summary": f"Heartbeat {heartbeat.name} expired", "description": description},
        starts_at=expired_at,
        ends_at=None,
        source_group_key=f"heartbeat:{heartbeat.name}",
    )


def recovered_event(heartbeat: Heartbeat, *, at: datetime) -> AlertEvent:
    """The ping (or deletion) that ends whatever episode fires; anchor it
    with :func:`app.sources.episodes.anchor`."""
    return AlertEvent(
        source=SOURCE,
        fingerprint=heartbeat.name,
        status="resolved",
        labels=labels_of(heartbeat),
        annotations={},
        starts_at=at,
        ends_at=at,
        source_group_key=f"heartbeat:{heartbeat.name}",
    )
