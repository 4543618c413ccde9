"""Every body has a size limit (KLAXON_MAX_BODY_BYTES), not only the webhooks':
a JSON body over it is a 413 naming the limit, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.settings import Settings
from tests.conftest import make_settings

LIMIT = 4096


@pytest.fixture
def settings(db: str) -> Settings:
    """The ``client`` fixture's Klaxon (tests/conftest.py), with a small body limit."""
    return make_settings(db, max_body_bytes=LIMIT)


async def test_a_json_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    incident = {"title": "Checkout down", "severity": "SEV3", "service": "checkout"}
    too_large = await client.post(
        "/api/v1/incidents", json={**incident, "description": "x" * LIMIT}
    )
    assert too_large.status_code == 413, too_large.text
    assert too_large.json()["detail"].endswith(f"is over the {LIMIT}-byte limit")
    assert (await client.get("/api/v1/incidents")).json()["items"] == []
    fits = await client.post(
        "/api/v1/incidents", json={**incident, "description": "x" * (LIMIT // 2)}
    )
    assert fits.status_code == 201, fits.text


async def test_a_streamed_body_without_a_length_is_cut_at_the_limit(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "Checkout down", "severity": "SEV3", "service": "checkout", '
        yield b'"description": "' + b"x" * LIMIT + b'"}'

    response = await client.post(
        "/api/v1/incidents", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"request body is over the {LIMIT}-byte limit"}
    assert (await client.get("/api/v1/incidents")).json()["items"] == []
