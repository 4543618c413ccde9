"""Every body has a size limit (KLAXON_MAX_BODY_BYTES), not only the webhooks':
a JSON body over it is a 413 naming the limit, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings

LIMIT = 4096


@pytest.fixture
async def small_limit(db: str, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(make_settings(db, max_body_bytes=LIMIT), clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as client,
    ):
        yield client


async def test_a_json_body_over_the_limit_is_a_413(small_limit: httpx.AsyncClient) -> None:
    incident = {"title": "Checkout down", "severity": "SEV3", "service": "checkout"}
    too_large = await small_limit.post(
        "/api/v1/incidents", json={**incident, "description": "x" * LIMIT}
    )
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["detail"].endswith(f"is over the {LIMIT}-byte limit")
    assert (await small_limit.get("/api/v1/incidents")).json()["items"] == []
    fits = await small_limit.post(
        "/api/v1/incidents", json={**incident, "description": "x" * (LIMIT // 2)}
    )
    assert fits.status_code == 201, fits.text


async def test_a_streamed_body_without_a_length_is_cut_at_the_limit(
    small_limit: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "Checkout down", "severity": "SEV3", "service": "checkout", '
        yield b'"description": "' + b"x" * LIMIT + b'"}'

    response = await small_limit.post(
        "/api/v1/incidents", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"request body is over the {LIMIT}-byte limit"}
    assert (await small_limit.get("/api/v1/incidents")).json()["items"] == []
