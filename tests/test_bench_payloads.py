"""The bench's payloads (tests/perf/payloads.py) are shaped as Alertmanager sends
them: checked against notifications a real Alertmanager 0.25 posted
(tests/fixtures/alertmanager) and against Klaxon's own parser."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.sources.alertmanager import AmWebhook, to_events
from tests.perf import payloads
from tests.perf.payloads import Group, fingerprint, fleet, go_time, largest_storm, storm

FIXTURES = Path(__file__).parent / "fixtures" / "alertmanager"
NOW = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def recorded() -> list[dict[str, Any]]:
    """Every notification body a real Alertmanager sent in the fixtures."""
    bodies = []
    for path in sorted(FIXTURES.glob("*.json")):
        data = orjson.loads(path.read_bytes())
        bodies.append(data.get("body", data))
    return bodies


def test_fingerprint_is_alertmanagers_for_every_recorded_alert() -> None:
    alerts = [a for body in recorded() for a in body["alerts"]]
    assert len({a["fingerprint"] for a in alerts}) >= 4
    for alert in alerts:
        assert fingerprint(alert["labels"]) == alert["fingerprint"], alert["labels"]


def test_fingerprint_of_a_known_label_set() -> None:
    # From 01-firing-group-HighLatency-2alerts.json, as Alertmanager computed it.
    labels = {
        "alertname": "HighLatency",
        "env": "prod",
        "instance": "web-1:9100",
        "service": "checkout",
        "severity": "warning",
    }
    assert fingerprint(labels) == "bfe47084c6f317f9"
    # Order of the pairs does not matter; a changed value does.
    assert fingerprint(dict(reversed(list(labels.items())))) == "bfe47084c6f317f9"
    assert fingerprint({**labels, "severity": "critical"}) != "bfe47084c6f317f9"


def test_group_key_and_common_fields_are_filled_as_alertmanager_fills_them() -> None:
    body = next(b for b in recorded() if b["groupKey"].startswith('{}:{alertname="HighLatency"'))
    group = Group("HighLatency", "checkout")
    assert group.group_key == body["groupKey"]
    assert group.group_labels == body["groupLabels"]
    assert payloads._common([a["labels"] for a in body["alerts"]]) == body["commonLabels"]
    assert (
        payloads._common([a["annotations"] for a in body["alerts"]]) == (body["commonAnnotations"])
    )


def test_go_time_prints_as_go_marshals_time() -> None:
    assert go_time(NOW) == "2026-11-30T12:00:00.123456Z"
    assert go_time(NOW.replace(microsecond=500000)) == "2026-11-30T12:00:00.5Z"
    assert go_time(NOW.replace(microsecond=0)) == "2026-11-30T12:00:00Z"


def test_fleet_is_100_groups_of_10_over_37_services() -> None:
    groups = fleet(random.Random(1), NOW)
    alerts = [a for g in groups for a in g.alerts]
    assert len(groups) == 100
    assert {len(g.alerts) for g in groups} == {10}
    assert len({g.service for g in groups}) == 37
    assert len({g.group_key for g in groups}) == 100
    assert len({a.fingerprint for a in alerts}) == 1000
    assert {tuple(a.labels) for a in alerts} == {
        ("alertname", "service", "instance", "job", "severity", "env")
    }
    critical = [a for a in alerts if a.labels["severity"] == "critical"]
    assert len(critical) == 334  # one in three
    assert all({"summary", "description", "runbook_url"} == set(a.annotations) for a in critical)
    assert all(set(a.annotations) == {"summary"} for a in alerts if a not in critical)
    starts = [a.starts_at for a in alerts]
    assert all(NOW - timedelta(days=1) <= s <= NOW - timedelta(minutes=1) for s in starts)
    assert max(starts) - min(starts) > timedelta(hours=20)  # spread over the day


def test_a_notification_is_one_whole_group_that_klaxon_parses() -> None:
    group = fleet(random.Random(2), NOW)[5]
    body = orjson.loads(group.body())
    assert body["status"] == "firing" and body["version"] == "4"
    assert len(body["alerts"]) == 10
    shared = ("alertname", "service", "job", "env")  # instance and severity differ
    assert body["commonLabels"] == {k: group.alerts[0].labels[k] for k in shared}
    events = to_events(AmWebhook.model_validate(body), received_at=NOW)
    assert [e.fingerprint for e in events] == [a.fingerprint for a in group.alerts]
    assert all(e.status == "firing" and e.ends_at is None for e in events)


def test_resolving_part_of_a_group_then_it_fires_again_as_new_episodes() -> None:
    group = fleet(random.Random(3), NOW)[0]
    resolved = group.resolve_some(random.Random(4), NOW)
    assert 1 <= resolved <= 5
    body = orjson.loads(group.body())
    ended = [a for a in body["alerts"] if a["status"] == "resolved"]
    assert len(ended) == resolved and body["status"] == "firing"
    assert {a["endsAt"] for a in ended} == {go_time(NOW)}
    later = NOW + timedelta(seconds=30)
    group.refire(later)
    again = orjson.loads(group.body())["alerts"]
    assert all(a["status"] == "firing" for a in again)
    assert sum(a["startsAt"] == go_time(later) for a in again) == resolved


@pytest.mark.parametrize("limit", [5_000, 40_000])
def test_largest_storm_is_the_most_new_alerts_within_the_limit(limit: int) -> None:
    size, body = largest_storm(limit, NOW)
    assert len(body) <= limit < len(storm(size + 1, NOW).body())
    parsed = AmWebhook.model_validate(orjson.loads(body))
    assert len(parsed.alerts) == size
    assert len({a.fingerprint for a in parsed.alerts}) == size
