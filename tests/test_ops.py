"""Health, readiness, metrics and rules reload."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, RULES, load_fixture, make_settings
from tests.helpers import post

STEP = {"targets": {"responders": ["alice"]}, "channels": ["sms"], "delay_minutes": 5}
#: The policies tests/fixtures/rules.yaml routes to.
FIXTURE_POLICIES: dict[str, Any] = {
    "responders": [{"name": "alice", "phone": "+15551230001"}],
    "policies": [
        {"name": name, "steps": [STEP]} for name in ("checkout-oncall", "storage-oncall", "default")
    ],
}


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz", headers={})).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_metrics_count_alerts_dedupes_incidents_and_latency(
    client: httpx.AsyncClient,
) -> None:
    deduplicated = 'klaxon_alerts_deduplicated_total{source="alertmanager"}'
    before = _metric((await client.get("/metrics")).text, deduplicated)
    payload = load_fixture("01-firing-group-HighLatency-2alerts.json")
    await post(client, payload)
    await post(client, payload)
    text = (await client.get("/metrics")).text
    assert 'klaxon_alerts_received_total{source="alertmanager",status="firing"}' in text
    # The HELP line names the metric whatever its value: the count is what tells.
    assert _metric(text, deduplicated) - before == 2, "the second post's 2 alerts were repeats"
    assert 'klaxon_incidents_opened_total{severity="SEV2"}' in text
    assert 'klaxon_open_incidents{status="triggered"} 1.0' in text
    assert 'klaxon_webhook_duration_seconds_count{code="200",source="alertmanager"}' in text


async def served(settings: Settings, *paths: str, **headers: str) -> dict[str, httpx.Response]:
    """GET each path from an app with these settings."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://klaxon.test") as http,
    ):
        return {path: await http.get(path, headers=headers) for path in paths}


DOCS = ("/docs", "/redoc", "/openapi.json")


async def test_metrics_and_docs_are_open_by_default(db: str) -> None:
    answers = await served(make_settings(db), "/metrics", *DOCS)
    assert {path: resp.status_code for path, resp in answers.items()} == dict.fromkeys(
        ("/metrics", *DOCS), 200
    )
    assert "klaxon_open_incidents" in answers["/metrics"].text
    assert answers["/openapi.json"].json()["info"]["title"] == "Klaxon"


async def test_with_a_metrics_token_metrics_need_it_as_a_bearer_token(db: str) -> None:
    settings = make_settings(db, metrics_token="scrape-secret")
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ):
        [refused] = (await served(settings, "/metrics", **headers)).values()
        assert refused.status_code == 401, headers
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "klaxon_" not in refused.text
    [allowed] = (await served(settings, "/metrics", Authorization="Bearer scrape-secret")).values()
    assert allowed.status_code == 200
    assert "klaxon_open_incidents" in allowed.text
    # Health checks stay open: probes and load balancers send no token.
    answers = await served(settings, "/healthz", "/readyz")
    assert [resp.status_code for resp in answers.values()] == [200, 200]


async def test_docs_can_be_turned_off(db: str) -> None:
    answers = await served(make_settings(db, docs_enabled=False), *DOCS, "/healthz")
    assert {path: resp.status_code for path, resp in answers.items()} == {
        **dict.fromkeys(DOCS, 404),
        "/healthz": 200,
    }


def test_metrics_token_and_docs_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KLAXON_METRICS_TOKEN", "scrape-secret")
    monkeypatch.setenv("KLAXON_DOCS_ENABLED", "false")
    settings = Settings()
    assert (settings.metrics_token, settings.docs_enabled) == ("scrape-secret", False)
    # An empty token would be a typo that leaves /metrics open: refused.
    monkeypatch.setenv("KLAXON_METRICS_TOKEN", "")
    with pytest.raises(ValueError, match="metrics_token"):
        Settings()


def _metric(text: str, line_prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_deduplicated_metric_grows_by_the_repeats(client: httpx.AsyncClient) -> None:
    name = 'klaxon_alerts_deduplicated_total{source="alertmanager"}'
    before = _metric((await client.get("/metrics")).text, name)
    payload = load_fixture("01-firing-group-HighLatency-2alerts.json")
    await post(client, payload)
    await post(client, payload)
    after = _metric((await client.get("/metrics")).text, name)
    assert after - before == 2


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    shutil.copy(RULES, path)
    return path


@pytest.fixture
async def reloadable(db: str, rules_file: Path) -> tuple[FastAPI, httpx.AsyncClient]:
    app = create_app(make_settings(db, config=rules_file))
    return app, httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://klaxon.test",
        headers={"Authorization": "Bearer test-admin-token"},
    )


async def test_reload_applies_new_rules_and_keeps_old_ones_when_invalid(
    reloadable: tuple[FastAPI, httpx.AsyncClient], rules_file: Path
) -> None:
    app, client = reloadable
    async with app.router.lifespan_context(app), client:
        applied = await client.post("/api/v1/oncall-config", json=FIXTURE_POLICIES)
        assert applied.status_code == 200, applied.text
        rules_file.write_text(rules_file.read_text() + "\n  # nothing\n")
        ok = await client.post("/-/reload")
        assert ok.status_code == 200
        assert ok.json()["routes"] == 3
        rules_file.write_text("routes:\n  - name: x\n    matchers: ['a=~\"(\"']\n")
        bad = await client.post("/-/reload")
        assert bad.status_code == 400
        assert "rules.yaml:3" in bad.json()["detail"]
        assert "old rules kept" in bad.json()["detail"]
        assert len(app.state.runtime.rules.current.routes) == 3


async def test_sighup_reloads_the_rules(
    reloadable: tuple[FastAPI, httpx.AsyncClient], rules_file: Path
) -> None:
    app, client = reloadable
    async with app.router.lifespan_context(app), client:
        rules_file.write_text("routes: []\n")
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(500):
            # The reload runs as a task: it asks the database for the policies.
            await asyncio.sleep(0.01)
            if not app.state.runtime.rules.current.routes:
                break
        assert app.state.runtime.rules.current.routes == []


async def test_reload_needs_the_admin_scope(client: httpx.AsyncClient) -> None:
    token = (await client.post("/api/v1/tokens", json={"name": "w", "scope": "write"})).json()
    resp = await client.post("/-/reload", headers={"Authorization": f"Bearer {token['token']}"})
    assert resp.status_code == 403


async def test_service_refuses_to_start_on_invalid_rules(tmp_path: Path, db: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("severity_rules:\n  - matchers: ['a=\"b\"']\n    severity: SEV0\n")
    app = create_app(make_settings(db, config=bad))
    with pytest.raises(ValueError, match=r"bad.yaml:3: severity_rules.0.severity"):
        async with app.router.lifespan_context(app):
            pass


def test_settings_read_klaxon_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_DATABASE_URL", "postgresql+asyncpg://x@127.0.0.1/k")
    monkeypatch.setenv("KLAXON_PORT", "9999")
    monkeypatch.setenv("KLAXON_ADMIN_TOKEN", "s3cret")
    settings = Settings()
    assert settings.database_url.startswith("postgresql")
    assert settings.port == 9999
    assert settings.admin_token == "s3cret"
    assert Settings(_env_file=None).host == "127.0.0.1"
