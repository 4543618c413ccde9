"""The remembered classification (app/ingest/classified.py) answers what the
rules answer: the same as classify_events, and anew after the rules change."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from app.events import AlertEvent
from app.ingest.classified import classify_remembered
from app.rules import classify_events
from app.rules.config import parse_rules


def _event(**labels: str) -> AlertEvent:
    return AlertEvent(
        source="alertmanager",
        fingerprint="f" + "".join(labels.values()),
        status="firing",
        labels=labels,
        annotations={},
        starts_at=datetime(2026, 11, 26, 11, tzinfo=UTC),
        ends_at=None,
        source_group_key="am:{}:{}",
    )


BEFORE = parse_rules(
    textwrap.dedent(
        """
        severity_rules:
          - name: payments-down
            matchers: ['service="payments"']
            severity: SEV1
        routes:
          - name: payments
            matchers: ['service="payments"']
            policy: payments-oncall
            group_by: [service]
        """
    )
)
AFTER = parse_rules(
    textwrap.dedent(
        """
        routes:
          - name: infra
            matchers: ['service=~"pay.*"']
            service: infrastructure
            policy: infra-oncall
        """
    )
)


def test_remembered_answers_are_the_rules_answers_and_follow_a_reload() -> None:
    events = [
        _event(alertname="Down", service="payments", severity="warning"),
        _event(alertname="Slow", service="search", severity="critical"),
    ]
    for rules in (BEFORE, BEFORE, AFTER, AFTER, BEFORE):
        assert classify_remembered(rules, events) == classify_events(rules, events)
    first = classify_remembered(BEFORE, events)[0]
    again = classify_remembered(AFTER, events)[0]
    assert (first.severity, first.policy, first.service) == ("SEV1", "payments-oncall", "payments")
    assert (again.severity, again.policy) == ("SEV3", "infra-oncall")
    assert again.service == "infrastructure"
