"""PagerDuty's Events API v2, compatible: ``POST /v2/enqueue``.

The first tests drive Klaxon with PagerDuty's own Python client (the
``pagerduty`` package) over real HTTP; the rest pin the wire format with
httpx. Each test runs on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from fastapi import FastAPI
from pagerduty import EventsApiV2Client, HttpError

from app.clock import ManualClock
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.fakes.twilio_server import serve_asgi
from tests.helpers import incident, incidents

ENQUEUE = "/v2/enqueue"
# The client insists on https; Klaxon sits behind a TLS-terminating proxy.
PUBLIC_URL = "https://events.klaxon.example"


class _Proxy(httpx2.HTTPTransport):
    """Sends what the client addresses to the public URL to Klaxon's loopback
    port, as a TLS-terminating reverse proxy would."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self._upstream = httpx2.URL(upstream)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(
            scheme=self._upstream.scheme, host=self._upstream.host, port=self._upstream.port
        )
        return super().handle_request(request)


async def ingest_token(client: httpx.AsyncClient, name: str = "monitoring") -> str:
    created = await client.post("/api/v1/tokens", json={"name": name, "scope": "ingest"})
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def alerts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/alerts", params={"limit": 500})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def trigger(routing_key: str, dedup_key: str | None = None, **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": {
            "summary": "Disk 95% full on db-1",
            "source": "db-1.example.com",
            "severity": "critical",
            **payload,
        },
    }
    if dedup_key is not None:
        event["dedup_key"] = dedup_key
    return event


async def enqueue(client: httpx.AsyncClient, event: Any) -> httpx.Response:
    # No Authorization header: the routing key is the credential.
    return await client.post(ENQUEUE, json=event, headers={"Authorization": ""})


# --- PagerDuty's own client ---------------------------------------------------------


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    async with serve_asgi(app) as url:
        yield url


@pytest.fixture
def pd_client(served: str) -> Iterator[Any]:
    """A factory of PagerDuty Events API v2 clients aimed at Klaxon."""
    made: list[EventsApiV2Client] = []

    def make(routing_key: str) -> EventsApiV2Client:
        events = EventsApiV2Client(
            routing_key, base_url=PUBLIC_URL, transport=_Proxy(served), trust_env=False
        )
        made.append(events)
        return events

    yield make
    for events in made:
        events.close()


async def test_pagerduty_client_triggers_acknowledges_and_resolves(
    client: httpx.AsyncClient, pd_client: Any, clock: ManualClock
) -> None:
    events: EventsApiV2Client = pd_client(await ingest_token(client))
    key = await asyncio.to_thread(
        events.trigger,
        "Disk 95% full on db-1",
        "db-1.example.com",
        dedup_key="disk/db-1",
        severity="critical",
        payload={"component": "postgres", "group": "prod-db", "class": "disk"},
        custom_details={"free_bytes": 1024, "mount": "/var"},
        links=[{"href": "https://runbooks.example.com/disk", "text": "Runbook"}],
    )
    assert key == "disk/db-1"
    [opened] = await incidents(client)
    assert opened["title"] == "Disk 95% full on db-1"
    assert opened["severity"] == "SEV2"
    assert opened["status"] == "triggered"
    [alert] = (await incident(client, opened["number"]))["alerts"]
    assert alert["source"] == "pagerduty"
    assert alert["fingerprint"] == "disk/db-1"
    assert alert["labels"] == {
        "alertname": "disk",
        "severity": "critical",
        "source": "db-1.example.com",
        "component": "postgres",
        "group": "prod-db",
        "class": "disk",
    }
    assert alert["annotations"]["custom_details"] == '{"free_bytes":1024,"mount":"/var"}'
    assert "runbooks.example.com/disk" in alert["annotations"]["links"]

    # The same key again while open: a repeat of the one alert.
    clock.advance(minutes=1)
    await asyncio.to_thread(
        events.trigger, "Disk 96% full on db-1", "db-1.example.com", dedup_key="disk/db-1"
    )
    [alert] = await alerts(client)
    assert alert["occurrences"] == 2
    assert alert["annotations"]["summary"] == "Disk 96% full on db-1"
    assert len(await incidents(client)) == 1

    assert await asyncio.to_thread(events.acknowledge, "disk/db-1") == "disk/db-1"
    [acked] = await incidents(client)
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by"].startswith("pagerduty (monitoring)")

    await asyncio.to_thread(events.resolve, "disk/db-1")
    [resolved] = await incidents(client)
    assert resolved["status"] == "resolved"

    # After resolution the same key opens a new alert, and a new incident.
    clock.advance(minutes=1)
    await asyncio.to_thread(events.trigger, "Disk full again", "db-1", dedup_key="disk/db-1")
    assert [i["status"] for i in await incidents(client)] == ["triggered", "resolved"]
    assert sorted(a["status"] for a in await alerts(client)) == ["firing", "resolved"]


async def test_pagerduty_client_gets_a_dedup_key_for_a_trigger_without_one(
    client: httpx.AsyncClient, pd_client: Any
) -> None:
    events: EventsApiV2Client = pd_client(await ingest_token(client))
    first = await asyncio.to_thread(events.trigger, "CPU high", "web-1", severity="warning")
    second = await asyncio.to_thread(events.trigger, "CPU high", "web-1", severity="warning")
    assert first != second
    assert {a["fingerprint"] for a in await alerts(client)} == {first, second}
    await asyncio.to_thread(events.resolve, first)
    statuses = {a["fingerprint"]: a["status"] for a in await alerts(client)}
    assert statuses == {first: "resolved", second: "firing"}


async def test_pagerduty_client_with_a_wrong_routing_key_is_refused(
    client: httpx.AsyncClient, pd_client: Any
) -> None:
    events: EventsApiV2Client = pd_client("not-a-klaxon-token")
    with pytest.raises(HttpError) as raised:
        await asyncio.to_thread(events.trigger, "CPU high", "web-1")
    assert raised.value.response is not None
    assert raised.value.response.status_code == 400
    assert await alerts(client) == []


# --- the wire format -----------------------------------------------------------------


async def test_success_is_202_in_pagerdutys_words(client: httpx.AsyncClient) -> None:
    key = await ingest_token(client)
    resp = await enqueue(client, trigger(key, "k-1"))
    assert resp.status_code == 202
    assert resp.json() == {"status": "success", "message": "Event processed", "dedup_key": "k-1"}
    made = await enqueue(client, trigger(key))
    assert made.status_code == 202
    assert len(made.json()["dedup_key"]) == 32


async def test_acknowledge_or_resolve_of_an_unknown_key_is_accepted_and_dropped(
    client: httpx.AsyncClient,
) -> None:
    key = await ingest_token(client)
    for action in ("acknowledge", "resolve"):
        event = {"routing_key": key, "event_action": action, "dedup_key": "never-seen"}
        resp = await enqueue(client, event)
        assert resp.status_code == 202
        assert resp.json()["dedup_key"] == "never-seen"
    assert await alerts(client) == []
    assert await incidents(client) == []


async def test_acknowledge_of_an_incident_resolved_by_hand_is_accepted_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    key = await ingest_token(client)
    await enqueue(client, trigger(key, "k-1"))
    assert (await client.post("/api/v1/incidents/1/resolve")).status_code == 200
    ack = {"routing_key": key, "event_action": "acknowledge", "dedup_key": "k-1"}
    assert (await enqueue(client, ack)).status_code == 202
    [only] = await incidents(client)
    assert only["status"] == "resolved"
    assert only["acknowledged_at"] is None


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", "SEV2"), ("error", "SEV3"), ("warning", "SEV3"), ("info", "SEV4")],
)
async def test_severity_maps_through_the_rules(
    client: httpx.AsyncClient, severity: str, expected: str
) -> None:
    key = await ingest_token(client)
    await enqueue(client, trigger(key, "k-1", severity=severity))
    [only] = await incidents(client)
    assert only["severity"] == expected


async def test_payload_fields_are_labels_the_rules_route_by(client: httpx.AsyncClient) -> None:
    key = await ingest_token(client)
    # tests/fixtures/rules.yaml routes alertname="DiskFull" to storage,
    # grouped by alertname and instance.
    await enqueue(client, trigger(key, "a", **{"class": "DiskFull"}))
    await enqueue(client, trigger(key, "b", **{"class": "DiskFull"}))
    await enqueue(client, trigger(key, "c"))
    by_service = {i["service"]: i for i in await incidents(client)}
    assert sorted(by_service) == ["default", "storage"]
    assert by_service["storage"]["alert_count"] == 2  # one incident for the route's group
    assert by_service["default"]["labels"]["alertname"] == "PagerDutyEvent"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"payload": None}, "'payload' is required to trigger"),
        ({"payload": {"source": "x", "severity": "info"}}, "'payload.summary' is missing or blank"),
        ({"payload": {"summary": "x", "severity": "info"}}, "'payload.source' is missing or blank"),
        ({"payload": {"summary": "x", "source": "y", "severity": "sev1"}}, "'payload.severity'"),
        (
            {"payload": {"summary": "x" * 1025, "source": "y", "severity": "info"}},
            "'payload.summary' is invalid",
        ),
        (
            {"payload": {"summary": "x", "source": "y", "severity": "info", "timestamp": "soon"}},
            "'payload.timestamp' is invalid",
        ),
        *(
            (
                {"payload": {"summary": "x", "source": "y", "severity": "info", "timestamp": t}},
                "'payload.timestamp' is invalid",
            )
            for t in ("2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00")
        ),
        ({"dedup_key": "k" * 256}, "'dedup_key' is invalid"),
        ({"event_action": "snooze"}, "'event_action' is invalid"),
        ({"event_action": "resolve"}, "'dedup_key' is required to resolve"),
        ({"event_action": "acknowledge"}, "'dedup_key' is required to acknowledge"),
        ({"links": [{"text": "no href"}]}, "'links.0.href' is missing or blank"),
    ],
)
async def test_an_invalid_event_is_400_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, change: dict[str, Any], error: str
) -> None:
    event = trigger(await ingest_token(client))
    event.update(change)
    if event["payload"] is None:
        del event["payload"]
    resp = await enqueue(client, event)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert any(error in message for message in body["errors"]), body["errors"]
    assert await alerts(client) == []


async def test_malformed_json_or_not_an_object_is_400(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        ENQUEUE, content=b'{"routing_key": ', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert resp.json()["status"] == "invalid event"
    assert (await enqueue(client, ["a list"])).status_code == 400


@pytest.mark.parametrize("routing_key", [None, "", "wrong-key", "read"])
async def test_a_missing_or_wrong_routing_key_is_400_and_writes_nothing(
    client: httpx.AsyncClient, routing_key: str | None
) -> None:
    if routing_key == "read":
        created = await client.post("/api/v1/tokens", json={"name": "ro", "scope": "read"})
        routing_key = created.json()["token"]
    event = trigger("placeholder")
    if routing_key is None:
        del event["routing_key"]
    else:
        event["routing_key"] = routing_key
    resp = await enqueue(client, event)
    assert resp.status_code == 400
    assert resp.json()["status"] == "invalid event"
    assert any("'routing_key'" in e for e in resp.json()["errors"])
    assert await alerts(client) == []


async def test_an_event_over_512_kb_is_413(client: httpx.AsyncClient) -> None:
    key = await ingest_token(client)
    resp = await enqueue(client, trigger(key, custom_details={"log": "x" * (512 * 1024)}))
    assert resp.status_code == 413
    assert resp.json()["status"] == "invalid event"
    assert await alerts(client) == []


async def test_over_the_rate_limit_an_event_is_429_and_writes_nothing(
    db: str, clock: ManualClock
) -> None:
    app = create_app(make_settings(db, ingest_rate=0.5, ingest_burst=2), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as api,
    ):
        key = await ingest_token(api)
        assert (await enqueue(api, trigger(key, "a"))).status_code == 202
        assert (await enqueue(api, trigger(key, "b"))).status_code == 202
        refused = await enqueue(api, trigger(key, "c"))
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["status"] == "throttle event"
        assert {a["fingerprint"] for a in await alerts(api)} == {"a", "b"}
        # A wrong routing key is refused before it costs the bucket anything.
        assert (await enqueue(api, trigger("wrong", "d"))).status_code == 400
        clock.advance(seconds=2)
        assert (await enqueue(api, trigger(key, "c"))).status_code == 202
