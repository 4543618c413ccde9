"""Input at the edges of what Python and the database can hold: each was a 500
(which Alertmanager retries forever, and after which uvicorn drops the
keep-alive connection). Each is now a 4xx naming the field, with nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.paging import ONCALL

SCHEDULE = "checkout-primary"
# The last instant Python has, and instants that cannot even be turned into UTC.
EDGES = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.fixture
async def on_call(client: httpx.AsyncClient) -> int:
    """The on-call set-up of the paging tests, and an incident: the number."""
    applied = await client.post("/api/v1/oncall-config", json=ONCALL)
    assert applied.status_code == 200, applied.text
    opened = await client.post(
        "/api/v1/incidents", json={"title": "Checkout down", "severity": "SEV3", "service": "c"}
    )
    assert opened.status_code == 201, opened.text
    number: int = opened.json()["number"]
    return number


def _named(response: httpx.Response) -> list[Any]:
    assert response.status_code == 422, response.text
    return [error["loc"] for error in response.json()["detail"]]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        (f"/api/v1/schedules/{SCHEDULE}/oncall", "at"),
        ("/api/v1/oncall", "at"),
        (f"/api/v1/schedules/{SCHEDULE}/shifts", "from"),
        (f"/api/v1/schedules/{SCHEDULE}/shifts", "to"),
        (f"/api/v1/schedules/{SCHEDULE}/handoff", "at"),
        ("/api/v1/reports/response", "since"),
        ("/api/v1/reports/response", "until"),
    ],
)
async def test_an_instant_at_the_edge_of_the_calendar_in_a_query_is_a_422_naming_it(
    client: httpx.AsyncClient, on_call: int, path: str, param: str
) -> None:
    for edge in EDGES:
        assert _named(await client.get(path, params={param: edge})) == [["query", param]]


async def test_a_number_where_an_instant_is_documented_is_a_422_naming_it(
    client: httpx.AsyncClient, on_call: int
) -> None:
    """Found by the schemathesis run: pydantic read ``until=-9.1e-170`` as seconds
    since 1970 and answered 200, where the document says an ISO 8601 date-time."""
    for path, param in [
        ("/api/v1/reports/response", "until"),
        (f"/api/v1/schedules/{SCHEDULE}/oncall", "at"),
    ]:
        for number in ("-9.133233656636299e-170", "1700000000"):
            assert _named(await client.get(path, params={param: number})) == [["query", param]]
    refused = await client.patch(f"/api/v1/incidents/{on_call}", json={"started_at": 1700000000})
    assert _named(refused) == [["body", "started_at"]]


async def test_instants_inside_the_range_are_answered(
    client: httpx.AsyncClient, on_call: int
) -> None:
    for at in ("1970-01-01T00:00:00Z", "2999-12-31T09:59:59-14:00"):
        answered = await client.get(f"/api/v1/schedules/{SCHEDULE}/oncall", params={"at": at})
        assert answered.status_code == 200, answered.text
    shifts = await client.get(
        f"/api/v1/schedules/{SCHEDULE}/shifts", params={"from": "2999-12-01T00:00:00Z"}
    )
    assert shifts.status_code == 200, shifts.text


async def test_a_patched_start_of_impact_at_the_edge_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, on_call: int
) -> None:
    before = (await client.get(f"/api/v1/incidents/{on_call}")).json()
    for edge in EDGES:
        refused = await client.patch(f"/api/v1/incidents/{on_call}", json={"started_at": edge})
        assert _named(refused) == [["body", "started_at"]]
    after = (await client.get(f"/api/v1/incidents/{on_call}")).json()
    assert after == before


async def test_an_override_bound_at_the_edge_is_a_422_and_stores_nothing(
    client: httpx.AsyncClient, on_call: int
) -> None:
    body = {"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z", "responder": "bob"}
    for field in ("start", "end"):
        for edge in EDGES:
            refused = await client.post(
                f"/api/v1/schedules/{SCHEDULE}/overrides", json={**body, field: edge}
            )
            assert _named(refused) == [["body", field]]
    schedule = (await client.get(f"/api/v1/schedules/{SCHEDULE}")).json()
    assert schedule["overrides"] == []


@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/alerts"])
async def test_a_cursor_past_the_largest_id_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str
) -> None:
    for cursor in (str(2**31), "9" * 20, "٣"):
        refused = await client.get(path, params={"cursor": cursor})
        assert refused.status_code == 400, refused.text
        assert refused.json()["detail"].startswith(f"cursor {cursor!r} ")
    largest = await client.get(path, params={"cursor": str(2**31 - 1)})
    assert largest.status_code == 200, largest.text


async def test_a_nul_in_a_fingerprint_is_a_422_naming_it_and_stores_nothing(
    client: httpx.AsyncClient,
) -> None:
    alert = {
        "status": "firing",
        "labels": {"alertname": "CheckoutDown", "service": "checkout"},
        "startsAt": "2026-11-01T09:00:00Z",
    }
    body = {
        "status": "firing",
        "groupKey": '{}:{alertname="CheckoutDown"}',
        "alerts": [{**alert, "fingerprint": "ab\u0000cd"}, {**alert, "fingerprint": "ef"}],
    }
    refused = await client.post("/api/v1/webhooks/alertmanager", json=body)
    assert _named(refused) == [["body", "alerts", 0, "fingerprint"]]
    assert (await client.get("/api/v1/alerts")).json()["items"] == []


def _nested(depth: int) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for _ in range(depth - 1):
        details = {"cause": details}
    return details


async def test_pagerduty_details_nested_300_deep_are_a_400_naming_them(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/api/v1/tokens", json={"name": "pd", "scope": "ingest"})
    key = created.json()["token"]
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "Checkout down", "source": "web-1", "severity": "critical"},
    }
    deep = {**event, "payload": {**event["payload"], "custom_details": _nested(300)}}
    refused = await client.post("/v2/enqueue", json=deep)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [
        "'payload.custom_details' is invalid: nests deeper than 64 levels"
    ]
    assert (await client.get("/api/v1/alerts")).json()["items"] == []
    deepest = {**event, "payload": {**event["payload"], "custom_details": _nested(64)}}
    accepted = await client.post("/v2/enqueue", json=deepest)
    assert accepted.status_code == 202, accepted.text
