"""Severity classification and routing of one alert's labels, and of a delivery's
alerts (:func:`classify_events`, stage 2 of ``app.pipeline``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from app.events import AlertEvent, Severity
from app.results import Classified
from app.rules.config import RulesFile
from app.rules.matchers import all_match
from app.text import clip_key

# Without a matching rule. SEV1 is never reached this way: only a rule can
# declare a complete outage.
LABEL_SEVERITY: dict[str, Severity] = {
    "critical": "SEV2",
    "error": "SEV3",  # PagerDuty's Events API has it
    "warning": "SEV3",
    "info": "SEV4",
}
DEFAULT_SEVERITY: Severity = "SEV3"
DEFAULT_SERVICE = "default"
SERVICE_MAX = 200  # alerts.service, incidents.service


@dataclass(frozen=True)
class Routing:
    route: str
    service: str
    policy: str | None
    group_by: tuple[str, ...] | None


def classify(rules: RulesFile, labels: Mapping[str, str]) -> Severity:
    for rule in rules.severity_rules:
        if all_match(rule.matchers, labels):
            return rule.severity
    return LABEL_SEVERITY.get(labels.get("severity", "").lower(), DEFAULT_SEVERITY)


def route(rules: RulesFile, labels: Mapping[str, str]) -> Routing:
    for candidate in rules.routes:
        if all_match(candidate.matchers, labels):
            return Routing(
                route=candidate.name,
                service=candidate.service or labels.get("service") or DEFAULT_SERVICE,
                policy=candidate.policy or rules.default_route.policy,
                group_by=tuple(candidate.group_by) if candidate.group_by is not None else None,
            )
    default = rules.default_route
    return Routing(
        route="default",
        service=default.service or labels.get("service") or DEFAULT_SERVICE,
        policy=default.policy,
        group_by=tuple(default.group_by) if default.group_by is not None else None,
    )


def group_key(routing: Routing, labels: Mapping[str, str], source_group_key: str) -> str:
    """The key of the incident an alert joins.

    The route's ``group_by`` labels (``...`` meaning all labels, as in
    Alertmanager); without ``group_by``, the key the source grouped by.
    Long keys are hashed so they fit the column and the index.
    """
    if routing.group_by is None:
        key = source_group_key
    else:
        names = sorted(labels) if "..." in routing.group_by else sorted(routing.group_by)
        pairs = ",".join(f"{name}={labels.get(name, '')!r}" for name in names)
        key = f"route:{routing.route}:{{{pairs}}}"
    if len(key) > 900:
        key = key[:800] + "#" + hashlib.sha256(key.encode()).hexdigest()
    return key


def classify_events(rules: RulesFile, events: list[AlertEvent]) -> list[Classified]:
    classified = []
    for event in events:
        routing = route(rules, event.labels)
        classified.append(
            Classified(
                event=event,
                severity=classify(rules, event.labels),
                # A label value can be any length; as a service it is an
                # identity (stakeholders, schedules match it), cut with a hash.
                service=clip_key(routing.service, SERVICE_MAX),
                policy=routing.policy,
                group_key=group_key(routing, event.labels, event.source_group_key),
            )
        )
    return classified
