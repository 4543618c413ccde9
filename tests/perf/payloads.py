"""Notifications as Alertmanager sends them, for ``make bench``. Pure: no I/O.

A fleet of 100 Alertmanager groups (``group_by: [alertname, service]``) over 37
services, 10 alerts each (one per instance). Every notification carries its whole
group, as Alertmanager resends it every ``group_interval``:

- labels ``alertname, service, instance, job, severity, env``; one alert in three
  is ``critical`` and carries a ``description`` and a ``runbook_url`` besides the
  ``summary``;
- ``fingerprint`` as Alertmanager computes it (``fingerprint``, below);
- ``startsAt`` spread over the last day, ``endsAt`` Go's zero time while firing;
- ``groupLabels``, ``groupKey``, ``commonLabels`` and ``commonAnnotations`` filled
  the way Alertmanager's dispatcher and webhook notifier fill them.

``storm`` builds one notification of many new alerts; ``largest_storm`` the largest
that fits a body limit.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

GROUPS = 100
GROUP_SIZE = 10
SERVICES = (
    "checkout", "payments", "cart", "catalog", "search", "recommendations", "auth",
    "accounts", "orders", "inventory", "shipping", "billing", "invoicing", "pricing",
    "promotions", "reviews", "notifications", "email", "sms-gateway", "media", "cdn",
    "api-gateway", "frontend", "mobile-bff", "graphql", "sessions", "feature-flags",
    "analytics", "reporting", "etl", "kafka", "postgres", "redis", "elasticsearch",
    "ingress", "dns", "vault",
)  # fmt: skip
ALERTNAMES = ("HighLatency", "HighErrorRate", "PodCrashLooping")
ENVS = ("prod", "prod", "prod", "staging")
RECEIVER = "klaxon"
EXTERNAL_URL = "http://alertmanager.example:9093"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF
_MASK = (1 << 64) - 1


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's alert fingerprint: prometheus/common ``LabelSet.Fingerprint``,
    FNV-1a 64 over the sorted label pairs, each name and value followed by the
    separator byte 0xff, printed as 16 hex digits (``%016x``)."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEPARATOR) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def go_time(at: datetime) -> str:
    """A UTC instant as Go's ``time.Time`` marshals it to JSON (RFC 3339, trailing
    zeros of the fraction trimmed)."""
    text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond:06d}".rstrip("0")
    return text + "Z"


def _common(maps: list[dict[str, str]]) -> dict[str, str]:
    """The pairs every map has with the same value (Alertmanager's commonLabels)."""
    if not maps:
        return {}
    first, *rest = maps
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in rest)}


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    fingerprint: str = ""

    def __post_init__(self) -> None:
        self.fingerprint = fingerprint(self.labels)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "firing" if self.ends_at is None else "resolved",
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": go_time(self.starts_at),
            "endsAt": GO_ZERO_TIME if self.ends_at is None else go_time(self.ends_at),
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr="
            + self.labels["alertname"],
            "fingerprint": self.fingerprint,
        }


def make_alert(
    alertname: str, service: str, instance: int, *, critical: bool, env: str, starts_at: datetime
) -> Alert:
    labels = {
        "alertname": alertname,
        "service": service,
        "instance": f"{service}-{instance}.{env}.example:9100",
        "job": service,
        "severity": "critical" if critical else "warning",
        "env": env,
    }
    annotations = {"summary": f"{alertname} on {service} instance {instance}"}
    if critical:
        annotations["description"] = (
            f"{alertname} has held for 10 minutes on {labels['instance']} ({env}); "
            f"users of {service} are affected."
        )
        annotations["runbook_url"] = f"https://runbooks.example/{service}/{alertname.lower()}"
    return Alert(labels, annotations, starts_at)


@dataclass
class Group:
    """One Alertmanager aggregation group and the alerts it holds."""

    alertname: str
    service: str
    alerts: list[Alert] = field(default_factory=list)

    @property
    def group_labels(self) -> dict[str, str]:
        return {"alertname": self.alertname, "service": self.service}

    @property
    def group_key(self) -> str:
        # The root route's key, ":", then the group labels as LabelSet.String()
        # prints them: sorted, quoted, ", " between.
        pairs = ", ".join(f'{k}="{v}"' for k, v in sorted(self.group_labels.items()))
        return f"{{}}:{{{pairs}}}"

    def notification(self) -> dict[str, Any]:
        """The webhook body Alertmanager posts for this group now."""
        alerts = [a.as_json() for a in self.alerts]
        firing = any(a.ends_at is None for a in self.alerts)
        return {
            "receiver": RECEIVER,
            "status": "firing" if firing else "resolved",
            "alerts": alerts,
            "groupLabels": self.group_labels,
            "commonLabels": _common([a["labels"] for a in alerts]),
            "commonAnnotations": _common([a["annotations"] for a in alerts]),
            "externalURL": EXTERNAL_URL,
            "version": "4",
            "groupKey": self.group_key,
            "truncatedAlerts": 0,
        }

    def body(self) -> bytes:
        return orjson.dumps(self.notification())

    def resolve_some(self, rng: random.Random, now: datetime) -> int:
        """Resolve between 1 and half of the firing alerts (the next notification
        says so); returns how many."""
        firing = [a for a in self.alerts if a.ends_at is None]
        if not firing:
            return 0
        chosen = rng.sample(firing, rng.randint(1, max(1, len(firing) // 2)))
        for a in chosen:
            a.ends_at = now
        return len(chosen)

    def refire(self, now: datetime) -> None:
        """Alerts resolved in the last notification fire again as new episodes
        (Alertmanager forgets a resolved alert once it has been notified)."""
        for a in self.alerts:
            if a.ends_at is not None:
                a.starts_at, a.ends_at = now, None


def fleet(rng: random.Random, now: datetime) -> list[Group]:
    """100 groups of 10 firing alerts over 37 services, started within the last day."""
    groups = []
    for g in range(GROUPS):
        service = SERVICES[g % len(SERVICES)]
        group = Group(ALERTNAMES[g // len(SERVICES)], service)
        env = ENVS[g % len(ENVS)]
        for k in range(GROUP_SIZE):
            starts = now - timedelta(seconds=rng.uniform(60, 86_400))
            serial = g * GROUP_SIZE + k
            group.alerts.append(
                make_alert(
                    group.alertname, service, k, critical=serial % 3 == 0, env=env, starts_at=starts
                )
            )
        groups.append(group)
    return groups


def storm(size: int, now: datetime) -> Group:
    """One group of ``size`` new alerts: a rack or a region going down at once."""
    group = Group("InstanceDown", "api-gateway")
    for k in range(size):
        started = now - timedelta(seconds=k % 300, microseconds=k)
        group.alerts.append(
            make_alert(
                group.alertname, group.service, k, critical=k % 3 == 0, env="prod",
                starts_at=started,
            )
        )  # fmt: skip
    return group


def largest_storm(limit: int, now: datetime) -> tuple[int, bytes]:
    """The most alerts one notification can carry within ``limit`` bytes, and its body."""
    # No alert is under 250 bytes, so this is likely over the limit at once.
    whole = storm(max(1, limit // 250), now)
    while len(whole.body()) <= limit:
        whole = storm(len(whole.alerts) * 2, now)

    def body(size: int) -> bytes:
        return Group(whole.alertname, whole.service, whole.alerts[:size]).body()

    low, high = 0, len(whole.alerts)  # body(low) fits (or low is 0), body(high) does not
    while high - low > 1:
        middle = (low + high) // 2
        if len(body(middle)) <= limit:
            low = middle
        else:
            high = middle
    return low, body(low)
