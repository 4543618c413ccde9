"""What the stages of ingestion hand each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.events import AlertEvent, Severity

EpisodeKey = tuple[str, str, datetime]  # source, fingerprint, start of the episode


def episode_key(event: AlertEvent) -> EpisodeKey:
    return (event.source, event.fingerprint, event.starts_at)


@dataclass(frozen=True)
class Classified:
    event: AlertEvent
    severity: Severity
    service: str
    policy: str | None
    group_key: str


@dataclass(frozen=True)
class Opened:
    number: int
    severity: str
    policy: str | None


@dataclass
class IngestResult:
    received: int = 0
    new: int = 0
    repeats: int = 0
    resolved: int = 0
    stale: int = 0
    opened: list[int] = field(default_factory=list)
    resolved_incidents: list[int] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    escalated_severity: list[int] = field(default_factory=list)
    opened_severities: dict[int, str] = field(default_factory=dict)
    opened_incidents: list[Opened] = field(default_factory=list)
