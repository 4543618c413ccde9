"""AlertEvent: what every source produces and every stage consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

AlertStatus = Literal["firing", "resolved"]
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

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or self.fingerprint

    @property
    def title(self) -> str:
        return self.annotations.get("summary") or self.labels.get("alertname") or self.fingerprint
