"""PostgreSQL down: webhooks answer 503 (Alertmanager retries 5xx, never 4xx),
/readyz fails, nothing is half-written, and the retry lands once it is back."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import load_fixture
from tests.helpers import incidents, post
from tests.services.postgres import PrivatePostgres


@pytest.mark.postgresql_only("needs a server to stop")
async def test_database_down_is_503_then_the_retry_lands(
    client: httpx.AsyncClient, database_url: str, request: pytest.FixtureRequest
) -> None:
    server: PrivatePostgres = request.getfixturevalue("postgres")
    payload = load_fixture("01-firing-group-HighLatency-2alerts.json")
    assert (await client.get("/readyz")).status_code == 200
    server.stop()
    try:
        down = await post(client, payload)
        assert down.status_code == 503
        assert down.headers["retry-after"]
        assert "database unavailable" in down.json()["detail"]
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert (await client.get("/healthz")).status_code == 200
    finally:
        server.start()
    assert (await client.get("/readyz")).status_code == 200
    retried = await post(client, payload)
    assert retried.status_code == 200
    assert retried.json()["new"] == 2
    [only] = await incidents(client)
    assert only["alert_count"] == 2
