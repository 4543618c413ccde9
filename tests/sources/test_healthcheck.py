"""Health-check webhooks, and the per-token rate limit every webhook shares.

Each test runs on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.clock import ManualClock
from app.main import create_app
from app.models import steps_table
from app.ratelimit import IngestLimiter
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.helpers import WEBHOOK as AM_WEBHOOK
from tests.helpers import am_alert, am_payload, incident, incidents

WEBHOOK = "/api/v1/webhooks/healthcheck"


def check(name: str = "api-latency", status: str = "down", **fields: Any) -> dict[str, Any]:
    return {"name": name, "status": status, **fields}


async def post(client: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await client.post(WEBHOOK, json=body, **kwargs)


async def alerts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/alerts", params={"limit": 500})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def ingest_token(client: httpx.AsyncClient, name: str = "checker") -> dict[str, str]:
    created = await client.post("/api/v1/tokens", json={"name": name, "scope": "ingest"})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


# --- firing and resolving ----------------------------------------------------


async def test_down_opens_an_incident_named_by_the_check_and_routed_by_the_rules(
    client: httpx.AsyncClient,
) -> None:
    resp = await post(
        client,
        check(
            "checkout-synthetic",
            message="GET /cart timed out after 10s",
            url="https://status.example.com/checks/42",
            labels={"service": "checkout", "severity": "critical"},
        ),
        headers=await ingest_token(client),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["new"] == 1
    [opened] = await incidents(client)
    assert opened["title"] == "checkout-synthetic is down"
    assert opened["service"] == "checkout"  # the rules' checkout route
    assert opened["severity"] == "SEV2"  # severity="critical", by the label map
    [alert] = (await incident(client, opened["number"]))["alerts"]
    assert alert["source"] == "healthcheck"
    assert alert["labels"] == {
        "alertname": "checkout-synthetic",
        "source": "healthcheck",
        "service": "checkout",
        "severity": "critical",
    }
    assert alert["annotations"]["description"] == "GET /cart timed out after 10s"
    assert alert["generator_url"] == "https://status.example.com/checks/42"
    assert alert["ends_at"] is None


async def test_a_flapping_checks_reports_are_one_alert_and_one_incident(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for status, message in [("down", "timeout"), ("fail", "HTTP 502"), ("DOWN", "HTTP 503")]:
        resp = await post(client, check(status=status, message=message))
        assert resp.status_code == 200, resp.text
        clock.advance(minutes=1)
    [only] = await incidents(client)
    assert only["status"] == "triggered"
    assert only["alert_count"] == 1
    [alert] = await alerts(client)
    assert alert["occurrences"] == 3
    assert alert["annotations"]["description"] == "HTTP 503"  # the latest word

    up = await post(client, check(status="up"))
    assert up.status_code == 200
    assert up.json()["resolved"] == 1
    assert up.json()["incidents"] == [only["number"]]
    [resolved] = await incidents(client)
    assert resolved["status"] == "resolved"
    [alert] = await alerts(client)
    assert alert["status"] == "resolved"
    assert alert["ends_at"] is not None
    # Why it was down stays on the alert.
    assert alert["annotations"]["description"] == "HTTP 503"

    again = await post(client, check(status="ok"))
    assert again.status_code == 200
    assert again.json()["resolved"] == 0
    assert len(await incidents(client)) == 1


async def test_down_long_after_recovery_is_a_new_outage_of_the_same_alert(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await post(client, check(status="down"))
    clock.advance(minutes=2)
    await post(client, check(status="up"))
    clock.advance(minutes=11)  # past the 10-minute flap window
    resp = await post(client, check(status="down"))
    assert resp.json()["new"] == 1
    second, first = await incidents(client)
    assert first["status"] == "resolved"
    assert second["status"] == "triggered"
    episodes = await alerts(client)
    assert len({a["fingerprint"] for a in episodes}) == 1
    assert sorted(a["status"] for a in episodes) == ["firing", "resolved"]


async def test_a_check_flapping_down_up_down_stays_one_incident(
    client: httpx.AsyncClient, clock: ManualClock, app: FastAPI
) -> None:
    for _ in range(3):
        await post(client, check(status="down"))
        clock.advance(minutes=1)
        await post(client, check(status="up"))
        clock.advance(minutes=3)
    resp = await post(client, check(status="down"))
    assert resp.json()["new"] == 1, "each outage is an episode of the one alert"
    [only] = await incidents(client)
    assert only["status"] == "triggered"
    assert only["alert_count"] == 4
    assert only["firing_count"] == 1
    detail = (await client.get(f"/api/v1/incidents/{only['number']}")).json()
    assert [e["kind"] for e in detail["timeline"]].count("reopened") == 3
    # Each reopening pages afresh: its first step in a round of its own.
    async with app.state.runtime.sessions() as session:
        firsts = await session.execute(
            select(steps_table.c.round)
            .where(steps_table.c.incident_number == only["number"], steps_table.c.step_index == 0)
            .order_by(steps_table.c.round)
        )
        assert list(firsts.scalars()) == [0, 1, 2, 3]


async def test_a_flap_within_one_clock_tick_reopens_the_same_incident(
    client: httpx.AsyncClient,
) -> None:
    # The test clock does not move: down, up and down arrive at one instant.
    await post(client, check(status="down"))
    await post(client, check(status="up"))
    resp = await post(client, check(status="down"))
    assert resp.json()["new"] == 1
    assert [i["status"] for i in await incidents(client)] == ["triggered"]


async def test_an_incident_a_person_resolved_is_not_reopened_by_a_flap(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await post(client, check(status="down"))).json()["incidents"][0]
    await client.post(f"/api/v1/incidents/{number}/resolve", json={"by": "alice"})
    await post(client, check(status="up"))
    clock.advance(minutes=1)
    await post(client, check(status="down"))
    assert [i["status"] for i in await incidents(client)] == ["triggered", "resolved"]


async def test_up_for_a_check_that_never_failed_is_accepted_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    resp = await post(client, check(status="up", message="fine"))
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "accepted",
        "alerts": 0,
        "new": 0,
        "repeats": 0,
        "resolved": 0,
        "stale": 0,
        "incidents": [],
    }
    assert await alerts(client) == []


async def test_labels_are_part_of_a_checks_identity(client: httpx.AsyncClient) -> None:
    await post(client, check(labels={"region": "eu"}))
    await post(client, check(labels={"region": "us"}))
    await post(client, check(status="up", labels={"region": "eu"}))
    by_region = {a["labels"]["region"]: a["status"] for a in await alerts(client)}
    assert by_region == {"eu": "resolved", "us": "firing"}
    assert [i["status"] for i in await incidents(client)] == ["triggered", "resolved"]


async def test_rules_can_match_the_healthcheck_source_label(
    client: httpx.AsyncClient,
) -> None:
    # tests/fixtures/rules.yaml routes alertname="DiskFull" to storage.
    await post(client, check("DiskFull", labels={"instance": "db-1"}))
    [only] = await incidents(client)
    assert only["service"] == "storage"
    assert only["labels"]["source"] == "healthcheck"


# --- bad input and authentication ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "down"}, ("body", "name")),
        (check(name=""), ("body", "name")),
        (check(status="sideways"), ("body", "status")),
        ({"name": "x"}, ("body", "status")),
        (check(labels={"alertname": "other"}), ("body", "labels")),
        (check(labels={"source": "other"}), ("body", "labels")),
        (check(labels={"bad-name": "x"}), ("body", "labels", "bad-name", "[key]")),
        (check(labels={"team": 7}), ("body", "labels", "team")),
        (check(message="x" * 5000), ("body", "message")),
    ],
)
async def test_a_bad_body_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, body: dict[str, Any], field: tuple[Any, ...]
) -> None:
    resp = await post(client, body)
    assert resp.status_code == 422, resp.text
    locations = [tuple(err["loc"]) for err in resp.json()["detail"]]
    assert field in locations
    assert await alerts(client) == []


async def test_malformed_json_is_400_and_a_huge_body_413(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        WEBHOOK, content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert "malformed JSON" in bad.json()["detail"]
    huge = await post(client, check(message="x" * 2_000_000))
    assert huge.status_code == 413
    assert await alerts(client) == []


@pytest.mark.parametrize("authorization", ["", "Bearer nope", "Basic dXNlcjpwYXNz"])
async def test_a_missing_or_wrong_token_is_401_and_writes_nothing(
    client: httpx.AsyncClient, authorization: str
) -> None:
    resp = await post(client, check(), headers={"Authorization": authorization})
    assert resp.status_code == 401
    assert await alerts(client) == []


async def test_a_read_token_cannot_post_health_checks(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/tokens", json={"name": "ro", "scope": "read"})
    read = {"Authorization": f"Bearer {created.json()['token']}"}
    assert (await post(client, check(), headers=read)).status_code == 403
    assert await alerts(client) == []


# --- the ingest rate limit ------------------------------------------------------


@pytest.fixture
async def tiny_limit(db: str, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """Klaxon allowing each token 3 requests at once, then one every 10 s."""
    app: FastAPI = create_app(make_settings(db, ingest_rate=0.1, ingest_burst=3), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as http,
    ):
        yield http


async def test_over_the_rate_limit_a_webhook_is_503_with_retry_after_and_writes_nothing(
    tiny_limit: httpx.AsyncClient, clock: ManualClock
) -> None:
    sender = await ingest_token(tiny_limit)
    for n in range(3):
        resp = await post(tiny_limit, check(f"check-{n}"), headers=sender)
        assert resp.status_code == 200, resp.text
    refused = await post(tiny_limit, check("check-3"), headers=sender)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "10"
    assert "rate limit" in refused.json()["detail"]
    assert {a["labels"]["alertname"] for a in await alerts(tiny_limit)} == {
        "check-0",
        "check-1",
        "check-2",
    }

    # Alertmanager's webhook shares the token's bucket, and is refused alike.
    am = await tiny_limit.post(AM_WEBHOOK, json=am_payload([am_alert("f1")]), headers=sender)
    assert am.status_code == 503
    assert "retry-after" in am.headers
    assert len(await incidents(tiny_limit)) == 3

    # Another token has a bucket of its own.
    other = await ingest_token(tiny_limit, "other-checker")
    assert (await post(tiny_limit, check("check-3"), headers=other)).status_code == 200

    # When the sender retries after Retry-After, it is accepted.
    clock.advance(seconds=10)
    retried = await post(tiny_limit, check("check-4"), headers=sender)
    assert retried.status_code == 200


def test_the_default_limit_accepts_a_storm() -> None:
    defaults = Settings()
    limits = IngestLimiter()
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def take(at: datetime) -> int | None:
        return limits.take("am", rate=defaults.ingest_rate, burst=defaults.ingest_burst, now=at)

    # 2,000 deliveries at one instant (a whole HA pair's backlog after an outage),
    # then 150 a second for ten minutes: none is turned away.
    assert all(take(t0) is None for _ in range(2000))
    for tick in range(1, 600 * 150 + 1):
        assert take(t0 + timedelta(seconds=tick / 150)) is None


def test_the_default_limit_accepts_what_one_worker_can_ingest() -> None:
    """Issue 13 asks one worker for 500 webhooks/s and two for 800: one
    Alertmanager sending that fast is never refused by the default limit, even
    when every post lands on one worker; a sender twice that fast is."""
    defaults = Settings()
    limits = IngestLimiter()
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def take(key: str, at: datetime) -> int | None:
        return limits.take(key, rate=defaults.ingest_rate, burst=defaults.ingest_burst, now=at)

    assert all(take("am", t0 + timedelta(seconds=n / 800)) is None for n in range(800 * 60))
    runaway = [take("runaway", t0 + timedelta(seconds=n / 2000)) for n in range(2000 * 60)]
    assert any(wait is not None for wait in runaway)


def test_token_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    limits = IngestLimiter()
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def take(at: datetime) -> int | None:
        return limits.take("token", rate=2.0, burst=4, now=at)

    assert [take(t0) for _ in range(5)] == [None, None, None, None, 1]
    assert take(t0 + timedelta(seconds=0.5)) is None  # one back after 1/rate
    assert take(t0 + timedelta(seconds=0.5)) == 1
    later = t0 + timedelta(hours=1)  # full again, never more than the burst
    assert [take(later) for _ in range(5)] == [None, None, None, None, 1]
    assert limits.take("another", rate=2.0, burst=4, now=later) is None
