"""Heartbeat monitors: declaration, pings, expiry as a durable timer, recovery.

The engine does not run on its own in these tests: each test moves the
ManualClock and calls ``run_due()``, as tests/escalation does. Each test runs
on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.apply.config import ConfigError, parse_config
from app.clock import ManualClock
from app.heartbeats import expiry
from app.main import create_app
from app.pipeline import process
from app.runtime import Runtime
from app.worker import Worker
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.fakes.twilio_server import serve_asgi
from tests.helpers import incident, incidents
from tests.services.alertmanager import private_alertmanager

API = "/api/v1/heartbeats"


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


def engine_of(app: FastAPI) -> Worker:
    engine: Worker = app.state.worker
    return engine


async def put(client: httpx.AsyncClient, name: str, /, **body: Any) -> httpx.Response:
    return await client.put(f"{API}/{name}", json=body)


async def get(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    resp = await client.get(f"{API}/{name}")
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


async def ping(client: httpx.AsyncClient, name: str, **kwargs: Any) -> httpx.Response:
    return await client.post(f"{API}/{name}/ping", **kwargs)


async def ingest_token(client: httpx.AsyncClient) -> str:
    created = await client.post("/api/v1/tokens", json={"name": "cron", "scope": "ingest"})
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def tick(app: FastAPI, clock: ManualClock, **advance: float) -> int:
    if advance:
        clock.advance(**advance)
    return await engine_of(app).run_due()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- declaring -------------------------------------------------------------------


async def test_put_creates_reads_back_and_is_idempotent(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    created = await put(
        client,
        "nightly-backup",
        interval="1d",
        grace="2h",
        severity="warning",
        labels={"team": "storage"},
        description="The nightly database backup",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["interval"] == 86400
    assert body["grace"] == 7200
    assert body["status"] == "up"
    assert body["last_ping_at"] is None
    assert body["pings"] == 0
    # Armed at once: without a ping, it expires interval + grace from now.
    assert at(body["expires_at"]) == clock.now() + timedelta(days=1, hours=2)
    assert body["ping_path"] == "/api/v1/heartbeats/nightly-backup/ping"

    # The answer of GET is a body PUT takes: the same again changes nothing.
    again = dict(body)
    for key in list(again):
        if key not in ("interval", "grace", "severity", "labels", "description", "name"):
            del again[key]
    same = await put(client, "nightly-backup", **again)
    assert same.status_code == 200
    assert same.json() == body
    listed = (await client.get(API)).json()
    assert [h["name"] for h in listed] == ["nightly-backup"]


async def test_durations_take_seconds_or_units(client: httpx.AsyncClient) -> None:
    for given, seconds in [(90, 90), ("90", 90), ("90s", 90), ("1m30s", 90), ("1w", 604800)]:
        resp = await put(client, "hb", interval=given, grace=0)
        assert resp.status_code in (200, 201), resp.text
        assert resp.json()["interval"] == seconds


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ("body", "interval")),
        ({"interval": "soon"}, ("body", "interval")),
        ({"interval": 0}, ("body", "interval")),
        ({"interval": True}, ("body", "interval")),
        ({"interval": "400d"}, ("body", "interval")),
        ({"interval": 60, "grace": -1}, ("body", "grace")),
        ({"interval": 60, "severity": "sev1"}, ("body", "severity")),
        ({"interval": 60, "labels": {"alertname": "x"}}, ("body", "labels")),
        ({"interval": 60, "labels": {"heartbeat": "x"}}, ("body", "labels")),
        ({"interval": 60, "every": 5}, ("body", "every")),
    ],
)
async def test_a_bad_heartbeat_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: tuple[Any, ...]
) -> None:
    resp = await client.put(f"{API}/hb", json=body)
    assert resp.status_code == 422, resp.text
    assert field in [tuple(err["loc"]) for err in resp.json()["detail"]]
    assert (await client.get(API)).json() == []


async def test_a_name_that_differs_from_the_path_or_is_malformed_is_refused(
    client: httpx.AsyncClient,
) -> None:
    assert (await put(client, "a", name="b", interval=60)).status_code == 400
    assert (await put(client, "no spaces", interval=60)).status_code == 422
    assert (await client.get(API)).json() == []


async def test_declaring_or_deleting_needs_a_config_token(client: httpx.AsyncClient) -> None:
    """A heartbeat pages when it expires: declaring one changes who gets paged."""
    ingest = {"Authorization": f"Bearer {await ingest_token(client)}"}
    resp = await client.put(f"{API}/hb", json={"interval": 60}, headers=ingest)
    assert resp.status_code == 403
    missing = await client.put(f"{API}/hb", json={"interval": 60}, headers={"Authorization": ""})
    assert missing.status_code == 401
    created = await client.post("/api/v1/tokens", json={"name": "ci", "scope": "write"})
    write = {"Authorization": f"Bearer {created.json()['token']}"}
    resp = await client.put(f"{API}/hb", json={"interval": 60}, headers=write)
    assert resp.status_code == 403
    assert resp.json() == {"detail": "token scope 'write' does not allow 'config'"}
    assert (await client.get(API)).json() == []

    created = await client.post("/api/v1/tokens", json={"name": "sre", "scope": "config"})
    config = {"Authorization": f"Bearer {created.json()['token']}"}
    assert (await client.put(f"{API}/hb", json={"interval": 60}, headers=config)).status_code == 201
    assert (await client.delete(f"{API}/hb", headers=write)).status_code == 403
    assert (await get(client, "hb"))["interval"] == 60
    assert (await client.delete(f"{API}/hb", headers=config)).status_code == 204


async def test_a_service_label_its_expiry_could_not_file_is_refused_at_put_and_apply(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    """Its incident is filed under the ``service`` label: one longer than the
    column would make every expiry fail, so the heartbeat could never page."""
    resp = await put(client, "hb", interval=60, labels={"service": "s" * 201})
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "labels"]
    assert "label 'service' may be at most 200 characters, not 201" in error["msg"]
    document = {"heartbeats": [{"name": "hb", "interval": 60, "labels": {"service": "s" * 201}}]}
    applied = await client.post("/api/v1/oncall-config", json=document)
    assert applied.status_code == 422, applied.text
    assert (await client.get(API)).json() == []
    with pytest.raises(ConfigError, match="label 'service' may be at most 200"):
        parse_config(
            f"heartbeats:\n  - name: hb\n    interval: 1m\n    labels: {{service: {'s' * 201}}}\n"
        )

    # The longest that fits pages.
    assert (await put(client, "hb", interval=60, labels={"service": "s" * 200})).status_code == 201
    await tick(app, clock, seconds=60 + 300)
    [opened] = await incidents(client)
    assert opened["service"] == "s" * 200


async def test_klaxon_apply_upserts_heartbeats(client: httpx.AsyncClient) -> None:
    config = parse_config(
        """
heartbeats:
  - name: watchdog
    interval: 1m
    grace: 5m
    labels: {team: sre}
  - name: nightly-backup
    interval: 1d
    severity: warning
"""
    )
    body = config.model_dump(mode="json", by_alias=True)
    first = await client.post("/api/v1/oncall-config", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 2
    again = await client.post("/api/v1/oncall-config", json=body)
    assert again.json()["unchanged"] == 2
    watchdog = await get(client, "watchdog")
    assert (watchdog["interval"], watchdog["grace"], watchdog["labels"]) == (
        60,
        300,
        {"team": "sre"},
    )
    assert (await get(client, "nightly-backup"))["grace"] == 300  # the default


def test_the_apply_file_names_the_line_of_a_bad_heartbeat() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("heartbeats:\n  - name: a\n    interval: 1m\n  - name: a\n    interval: 1m\n")
    assert "heartbeat 'a' is listed twice" in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        parse_config("heartbeats:\n  - name: b\n    interval: every minute\n")
    assert ":3: heartbeats.0.interval" in str(raised.value)


# --- expiry and recovery ------------------------------------------------------------


async def test_no_ping_within_interval_and_grace_opens_an_incident_the_next_ping_resolves(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await put(client, "nightly-backup", interval=60, grace=30, labels={"service": "checkout"})
    assert (await ping(client, "nightly-backup")).status_code == 200
    deadline = clock.now().timestamp() + 90
    await tick(app, clock, seconds=89)
    assert await incidents(client) == []
    assert (await get(client, "nightly-backup"))["status"] == "late"

    await tick(app, clock, seconds=2)
    [opened] = await incidents(client)
    assert opened["title"] == "Heartbeat nightly-backup expired"
    assert opened["service"] == "checkout"  # routed by the rules like any alert
    assert opened["severity"] == "SEV2"  # severity="critical", the default
    [alert] = (await incident(client, opened["number"]))["alerts"]
    assert alert["source"] == "heartbeat"
    assert alert["labels"] == {
        "alertname": "Heartbeat",
        "heartbeat": "nightly-backup",
        "source": "heartbeat",
        "severity": "critical",
        "service": "checkout",
    }
    # The episode starts when the heartbeat expired, not when it was noticed.
    assert at(alert["starts_at"]).timestamp() == deadline
    assert "No ping within 1m + 30s grace" in alert["annotations"]["description"]
    state = await get(client, "nightly-backup")
    assert state["status"] == "expired"
    assert state["expires_at"] is None

    # Time passing does not expire it twice.
    await tick(app, clock, minutes=30)
    assert len(await incidents(client)) == 1

    recovered = await ping(client, "nightly-backup")
    assert recovered.status_code == 200
    assert recovered.json()["resolved_incidents"] == [opened["number"]]
    [closed] = await incidents(client)
    assert closed["status"] == "resolved"
    assert (await get(client, "nightly-backup"))["status"] == "up"

    # Silent again: a new expiry, a new incident.
    await tick(app, clock, seconds=91)
    assert [i["status"] for i in await incidents(client)] == ["triggered", "resolved"]


async def test_a_heartbeat_that_never_pings_expires_too(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await put(client, "new-job", interval="10m", grace="5m")
    await tick(app, clock, minutes=14)
    assert await incidents(client) == []
    await tick(app, clock, minutes=1)
    [opened] = await incidents(client)
    [alert] = (await incident(client, opened["number"]))["alerts"]
    assert "never pinged" in alert["annotations"]["description"]


async def test_expiry_fires_after_a_restart_on_a_second_app_sharing_the_database(
    db: str, clock: ManualClock
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    first = create_app(make_settings(db), clock=clock)
    async with (
        first.router.lifespan_context(first),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first), base_url="http://a.test", headers=admin
        ) as api,
    ):
        await put(api, "watchdog", interval=60, grace=60)
        await ping(api, "watchdog")
        deadline = clock.now().timestamp() + 120
    # Klaxon is down while the deadline passes.
    clock.advance(hours=1)
    second = create_app(make_settings(db), clock=clock)
    async with (
        second.router.lifespan_context(second),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second), base_url="http://b.test", headers=admin
        ) as api,
    ):
        assert await engine_of(second).run_due() > 0
        [opened] = await incidents(api)
        [alert] = (await incident(api, opened["number"]))["alerts"]
        assert at(alert["starts_at"]).timestamp() == deadline


async def test_two_replicas_expire_a_heartbeat_once(
    db: str, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    for n in range(5):
        await put(client, f"job-{n}", interval=60, grace=0)
    clock.advance(minutes=2)
    apps = [create_app(make_settings(db), clock=clock) for _ in range(2)]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        await asyncio.gather(*(engine_of(a).run_due() for a in apps))
    opened = await incidents(client)
    assert len(opened) == 5
    for each in opened:
        [alert] = (await incident(client, each["number"]))["alerts"]
        assert alert["occurrences"] == 1


async def test_an_expiry_claimed_by_a_replica_that_died_is_finished_after_its_lease(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    runtime = runtime_of(app)
    await put(client, "cron", interval=60, grace=0)
    clock.advance(seconds=61)
    # A replica claims the expiry, then dies before its alert is committed.
    assert await expiry._claim(runtime) is not None
    await tick(app, clock, seconds=1)
    assert await incidents(client) == []  # its lease still holds
    await tick(app, clock, seconds=expiry.LEASE.total_seconds())
    [opened] = await incidents(client)
    [alert] = (await incident(client, opened["number"]))["alerts"]
    # The same episode as the dead replica's would have been.
    assert at(alert["starts_at"]) == at((await get(client, "cron"))["expired_at"])
    await tick(app, clock, minutes=5)
    assert len(await incidents(client)) == 1


async def test_a_ping_during_an_expiry_resolves_what_the_expiry_fired(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    runtime = runtime_of(app)
    await put(client, "cron", interval=60, grace=0)
    clock.advance(seconds=61)
    claim = await expiry._claim(runtime)
    assert claim is not None
    # The late ping lands between the claim and the alert.
    assert (await ping(client, "cron")).status_code == 200
    await expiry._fire(runtime, *claim, process)
    [flash] = await incidents(client)
    assert flash["status"] == "resolved"  # it was late; it is back
    assert (await get(client, "cron"))["status"] == "up"


async def test_the_engine_wakes_for_the_next_deadline(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    runtime = runtime_of(app)
    async with runtime.sessions() as session:
        assert await expiry.next_due(session) is None
    await put(client, "slow", interval="1h", grace=0)
    await put(client, "fast", interval="10m", grace="1m")
    async with runtime.sessions() as session:
        assert await expiry.next_due(session) == clock.now() + timedelta(minutes=11)
    assert 0 < await engine_of(app)._seconds_until_due(3600) <= 660


async def test_changing_the_interval_moves_the_deadline_of_a_heartbeat_that_is_up(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await put(client, "cron", interval=60, grace=0)
    await ping(client, "cron")
    clock.advance(seconds=50)
    await put(client, "cron", interval=3600, grace=0)
    await tick(app, clock, minutes=5)
    assert await incidents(client) == []
    await put(client, "cron", interval=60, grace=0)  # overdue now
    await tick(app, clock)
    assert len(await incidents(client)) == 1


async def test_deleting_a_heartbeat_resolves_its_expiry_alert(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    await put(client, "retired-job", interval=60, grace=0)
    await tick(app, clock, minutes=2)
    assert [i["status"] for i in await incidents(client)] == ["triggered"]
    assert (await client.delete(f"{API}/retired-job")).status_code == 204
    assert [i["status"] for i in await incidents(client)] == ["resolved"]
    assert (await client.get(f"{API}/retired-job")).status_code == 404
    assert (await client.delete(f"{API}/retired-job")).status_code == 404


# --- pings ----------------------------------------------------------------------------


async def test_ping_by_get_or_post_with_any_body(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await put(client, "watchdog", interval=60)
    token = {"Authorization": f"Bearer {await ingest_token(client)}"}
    assert (await client.get(f"{API}/watchdog/ping", headers=token)).status_code == 200
    clock.advance(seconds=30)
    # Alertmanager's webhook body is ignored.
    body = {"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "Watchdog"}}]}
    resp = await ping(client, "watchdog", json=body, headers=token)
    assert resp.status_code == 200, resp.text
    assert resp.json()["name"] == "watchdog"
    # Interval + the default grace of 5 minutes from now.
    assert at(resp.json()["expires_at"]) == clock.now() + timedelta(minutes=6)
    state = await get(client, "watchdog")
    assert state["pings"] == 2
    assert at(state["last_ping_at"]) == clock.now()
    assert (await ping(client, "nope", headers=token)).status_code == 404


@pytest.mark.parametrize("authorization", ["", "Bearer nope"])
async def test_a_ping_without_a_valid_token_is_401_and_changes_nothing(
    client: httpx.AsyncClient, authorization: str
) -> None:
    await put(client, "watchdog", interval=60)
    resp = await ping(client, "watchdog", headers={"Authorization": authorization})
    assert resp.status_code == 401
    assert (await get(client, "watchdog"))["pings"] == 0


async def test_a_ping_over_the_rate_limit_is_503_with_retry_after_and_changes_nothing(
    db: str, clock: ManualClock
) -> None:
    app = create_app(make_settings(db, ingest_rate=1, ingest_burst=2), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as api,
    ):
        await put(api, "watchdog", interval=60)
        token = {"Authorization": f"Bearer {await ingest_token(api)}"}
        assert (await ping(api, "watchdog", headers=token)).status_code == 200
        assert (await ping(api, "watchdog", headers=token)).status_code == 200
        refused = await ping(api, "watchdog", headers=token)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert (await get(api, "watchdog"))["pings"] == 2


# --- Alertmanager's Watchdog as the heartbeat ----------------------------------------


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll a real Alertmanager's delivery (it keeps its own time)."""
    deadline = asyncio.get_running_loop().time() + 30
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    async with serve_asgi(app) as url:
        yield url


async def test_a_real_alertmanager_watchdog_route_pings_the_heartbeat(
    client: httpx.AsyncClient, served: str
) -> None:
    await put(client, "alertmanager-watchdog", interval="1m", grace="5m")
    token = await ingest_token(client)
    url = f"{served}/api/v1/heartbeats/alertmanager-watchdog/ping"
    with private_alertmanager(url, token, group_by=["alertname"]) as am:
        await asyncio.to_thread(am.fire, {"alertname": "Watchdog", "severity": "none"})

        async def pinged() -> bool:
            return bool((await get(client, "alertmanager-watchdog"))["pings"] >= 1)

        await _eventually(pinged, "Alertmanager to ping")
    assert (await get(client, "alertmanager-watchdog"))["status"] == "up"
    assert await incidents(client) == []  # the Watchdog alert itself is no incident
