"""Alertmanager webhook payloads (real ones, from Alertmanager 0.25) → AlertEvents."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from app.events import AlertEvent
from app.sources.alertmanager import SOURCE, AmWebhook, labels_fingerprint, to_events
from tests.conftest import FIXTURES, load_fixture

FIXTURE_DIR = FIXTURES / "alertmanager"
ALL = sorted(p.name for p in FIXTURE_DIR.glob("*.json"))
CAPTURED = [name for name in ALL if name.endswith(".full.json")]
PLAIN = [name for name in ALL if not name.endswith(".full.json")]
RECEIVED = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)


def payload(name: str) -> dict[str, Any]:
    """The webhook body of a fixture, captured request or plain payload."""
    data = load_fixture(name)
    if name.endswith(".full.json"):
        body: dict[str, Any] = data["body"]
        return body
    return data


def events_of(body: dict[str, Any], received_at: datetime = RECEIVED) -> list[AlertEvent]:
    return to_events(AmWebhook.model_validate(body), received_at=received_at)


def minimal(**alert: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "X", "instance": "a"},
        "startsAt": "2026-11-26T19:00:00Z",
    }
    base.update(alert)
    return {"status": base["status"], "alerts": [base], "groupKey": '{}:{alertname="X"}'}


def test_every_fixture_is_exercised() -> None:
    assert len(PLAIN) >= 8
    assert len(CAPTURED) >= 5
    for name in CAPTURED:
        assert name.removesuffix(".full.json") + ".json" in PLAIN


@pytest.mark.parametrize("name", ALL)
def test_every_fixture_gives_one_sound_event_per_alert(name: str) -> None:
    body = payload(name)
    events = events_of(body)
    assert len(events) == len(body["alerts"])
    for event, alert in zip(events, body["alerts"], strict=True):
        assert event.source == SOURCE == "alertmanager"
        assert event.status == alert["status"]
        assert event.labels == alert["labels"]
        assert event.annotations == alert["annotations"]
        assert event.fingerprint == alert["fingerprint"]
        assert event.source_group_key == "am:" + body["groupKey"]
        assert event.starts_at.tzinfo is not None
        assert event.starts_at.utcoffset() == timedelta(0)
        assert event.generator_url == (alert["generatorURL"] or None)
        if event.status == "firing":
            assert event.ends_at is None
        else:
            assert event.ends_at is not None
            assert event.ends_at.utcoffset() == timedelta(0)
            assert event.ends_at >= event.starts_at


@pytest.mark.parametrize("name", CAPTURED)
def test_captured_request_matches_its_plain_payload(name: str) -> None:
    assert payload(name) == load_fixture(name.removesuffix(".full.json") + ".json")


@pytest.mark.parametrize("name", CAPTURED)
def test_captured_requests_carry_a_bearer_token(name: str) -> None:
    headers = load_fixture(name)["headers"]
    authorization = headers["Authorization"]
    scheme, _, credentials = authorization.partition(" ")
    assert scheme == "Bearer"
    assert credentials and " " not in credentials
    assert headers["User-Agent"].startswith("Alertmanager/")


def test_firing_alert_with_go_zero_end_has_no_end() -> None:
    body = payload("01-firing-group-HighLatency-2alerts.json")
    assert {a["endsAt"] for a in body["alerts"]} == {"0001-01-01T00:00:00Z"}
    assert [e.ends_at for e in events_of(body)] == [None, None]


def test_firing_alert_with_a_future_end_has_no_end() -> None:
    body = payload("07-firing-prometheus-style-future-endsAt.json")
    body["alerts"][0]["endsAt"] = "2026-11-26T19:23:12Z"  # as Prometheus posts it
    (event,) = events_of(body, received_at=datetime(2026, 11, 26, 19, 20, tzinfo=UTC))
    assert event.status == "firing"
    assert event.ends_at is None


def test_firing_alert_with_a_past_end_still_has_no_end() -> None:
    (event,) = events_of(minimal(endsAt="2026-11-26T19:05:00Z"))
    assert event.ends_at is None


def test_firing_group_carrying_a_resolved_alert_gives_per_alert_statuses() -> None:
    body = payload("03-firing-group-with-one-resolved.json")
    assert body["status"] == "firing"
    resolved, firing = events_of(body)
    assert (resolved.fingerprint, resolved.status) == ("bfe47084c6f317f9", "resolved")
    assert resolved.ends_at == datetime(2026, 11, 26, 19, 17, 5, tzinfo=UTC)
    assert (firing.fingerprint, firing.status) == ("061e5eeeaf7f98e9", "firing")
    assert firing.ends_at is None


def test_resolved_alert_keeps_its_end() -> None:
    (event,) = events_of(payload("05-resolved-DiskFull.json"))
    assert event.status == "resolved"
    assert event.ends_at == datetime(2026, 11, 26, 19, 17, 18, tzinfo=UTC)
    assert event.ends_at != RECEIVED


def test_nanosecond_times_are_truncated_to_microseconds_in_utc() -> None:
    (event,) = events_of(payload("09-auto-resolved-resolve_timeout.json"))
    # "2026-11-26T19:19:26.414083603Z" and "...19:24:26.414083603Z"
    assert event.starts_at == datetime(2026, 11, 26, 19, 19, 26, 414083, tzinfo=UTC)
    assert event.ends_at == datetime(2026, 11, 26, 19, 24, 26, 414083, tzinfo=UTC)
    assert event.starts_at.tzinfo is UTC
    assert event.ends_at.tzinfo is UTC


def test_offset_times_are_converted_to_utc() -> None:
    (event,) = events_of(
        minimal(
            status="resolved",
            startsAt="2026-11-26T20:00:00+01:00",
            endsAt="2026-11-26T15:30:00-05:00",
        )
    )
    assert event.starts_at == datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    assert event.starts_at.tzinfo is UTC
    assert event.ends_at == datetime(2026, 11, 26, 20, 30, tzinfo=UTC)
    assert event.ends_at is not None and event.ends_at.tzinfo is UTC


def test_naive_times_are_taken_as_utc() -> None:
    (event,) = events_of(minimal(startsAt="2026-11-26T19:00:00"))
    assert event.starts_at == datetime(2026, 11, 26, 19, 0, tzinfo=UTC)


def test_resolved_alert_without_an_end_ends_when_received() -> None:
    for ends_at in ("0001-01-01T00:00:00Z", None):
        alert: dict[str, Any] = {"status": "resolved"}
        if ends_at is not None:
            alert["endsAt"] = ends_at
        (event,) = events_of(minimal(**alert))
        assert event.ends_at == RECEIVED


def test_resolved_alert_with_empty_annotations_parses() -> None:
    body = payload("04-resolved-group-HighLatency.json")
    assert body["alerts"][0]["annotations"] == {}
    (event,) = events_of(body)
    assert event.status == "resolved"
    assert event.annotations == {}
    assert event.title == "HighLatency"


def test_missing_annotations_default_to_empty() -> None:
    (event,) = events_of(minimal())
    assert event.annotations == {}


def test_missing_fingerprint_is_a_hash_of_the_sorted_labels() -> None:
    labels = {"alertname": "X", "instance": "a", "env": "prod"}
    reordered = dict(reversed(list(labels.items())))
    (first,) = events_of(minimal(labels=labels))
    (second,) = events_of(minimal(labels=reordered))
    (other,) = events_of(minimal(labels={**labels, "instance": "b"}))
    assert first.fingerprint == labels_fingerprint(labels)
    assert first.fingerprint == second.fingerprint
    assert first.fingerprint != other.fingerprint
    assert len(first.fingerprint) == 16


def test_empty_fingerprint_is_replaced_by_the_labels_hash() -> None:
    labels = {"alertname": "X", "instance": "a"}
    (event,) = events_of(minimal(labels=labels, fingerprint=""))
    assert event.fingerprint == labels_fingerprint(labels)


def test_labels_fingerprint_does_not_confuse_keys_and_values() -> None:
    assert labels_fingerprint({"a": "b=c"}) != labels_fingerprint({"a=b": "c"})
    assert labels_fingerprint({"a": "1", "b": "2"}) != labels_fingerprint({"a": "1b2"})


def test_labels_fingerprint_is_stable_across_runs() -> None:
    # A stored identity: it must not change between processes or releases.
    assert labels_fingerprint({"alertname": "X"}) == labels_fingerprint({"alertname": "X"})
    assert labels_fingerprint({"alertname": "X"}) == "1e7a35217f441b09"


def test_group_key_is_carried_with_an_am_prefix() -> None:
    events = events_of(payload("02-firing-DiskFull-critical-annotations.json"))
    assert [e.source_group_key for e in events] == [
        'am:{}:{alertname="DiskFull", service="postgres"}'
    ]


def test_missing_group_key_is_built_from_group_labels() -> None:
    body = payload("01-firing-group-HighLatency-2alerts.json")
    del body["groupKey"]
    shuffled = copy.deepcopy(body)
    shuffled["groupLabels"] = dict(reversed(list(body["groupLabels"].items())))
    keys = {e.source_group_key for e in events_of(body) + events_of(shuffled)}
    assert len(keys) == 1
    (key,) = keys
    assert key.startswith("am:")
    assert "HighLatency" in key and "checkout" in key


def test_empty_generator_url_becomes_none() -> None:
    body = payload("01-firing-group-HighLatency-2alerts.json")
    urls = [e.generator_url for e in events_of(body)]
    assert urls == ["http://prometheus.local/graph?g0.expr=latency", None]


def test_unknown_fields_are_ignored() -> None:
    body = minimal()
    body["somethingNew"] = 1
    body["alerts"][0]["silencedBy"] = []
    assert len(events_of(body)) == 1


def test_empty_alert_list_gives_no_events() -> None:
    assert events_of({"status": "resolved", "alerts": []}) == []


def test_event_labels_are_copies() -> None:
    webhook = AmWebhook.model_validate(minimal())
    (event,) = to_events(webhook, received_at=RECEIVED)
    event.labels["mutated"] = "yes"
    assert "mutated" not in webhook.alerts[0].labels


def schema_error(body: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        AmWebhook.model_validate(body)
    return caught.value


def test_bogus_status_is_a_validation_error_naming_status() -> None:
    error = schema_error({**payload("01-firing-group-HighLatency-2alerts.json"), "status": "bogus"})
    assert [e["loc"] for e in error.errors()] == [("status",)]
    assert "status" in str(error)


def test_bogus_alert_status_is_a_validation_error_naming_it() -> None:
    body = payload("01-firing-group-HighLatency-2alerts.json")
    body["alerts"][1]["status"] = "pending"
    error = schema_error(body)
    assert [e["loc"] for e in error.errors()] == [("alerts", 1, "status")]


def test_missing_alerts_is_a_validation_error_naming_alerts() -> None:
    body = payload("02-firing-DiskFull-critical-annotations.json")
    del body["alerts"]
    error = schema_error(body)
    assert [(e["loc"], e["type"]) for e in error.errors()] == [(("alerts",), "missing")]
    assert "alerts" in str(error)


def test_start_that_is_not_a_date_is_a_validation_error_naming_it() -> None:
    error = schema_error(minimal(startsAt="yesterday"))
    assert [e["loc"] for e in error.errors()] == [("alerts", 0, "startsAt")]
    assert "startsAt" in str(error)


def test_missing_start_is_a_validation_error() -> None:
    body = minimal()
    del body["alerts"][0]["startsAt"]
    error = schema_error(body)
    assert [(e["loc"], e["type"]) for e in error.errors()] == [
        (("alerts", 0, "startsAt"), "missing")
    ]


def test_empty_labels_is_a_validation_error_naming_labels() -> None:
    error = schema_error(minimal(labels={}))
    assert [e["loc"] for e in error.errors()] == [("alerts", 0, "labels")]
    assert "labels" in str(error)


def test_non_string_label_value_is_a_validation_error() -> None:
    error = schema_error(minimal(labels={"alertname": "X", "count": 3}))
    assert [e["loc"] for e in error.errors()] == [("alerts", 0, "labels", "count")]


def test_negative_truncated_alerts_is_a_validation_error() -> None:
    body = minimal()
    body["truncatedAlerts"] = -1
    error = schema_error(body)
    assert [e["loc"] for e in error.errors()] == [("truncatedAlerts",)]
