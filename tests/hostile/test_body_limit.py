"""Every body has a size limit (KLAXON_MAX_BODY_BYTES), not only the webhooks':
a JSON body over it is a 413 naming the limit, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from starlette.types import Message

from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, make_settings

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


@pytest.mark.parametrize("declared", [b"\xb2", b"12\xb3", b"abc"])
async def test_a_content_length_that_is_no_ascii_number_is_not_a_500(
    app: FastAPI, client: httpx.AsyncClient, declared: bytes
) -> None:
    """'²' is a digit to str.isdigit() but not to int(): such a header (which a server
    may pass through as latin-1) is ignored like any other non-number, and the body
    read, within the limit, as it comes."""
    body = orjson.dumps({"title": "Checkout down", "severity": "SEV3", "service": "checkout"})
    sent: list[Message] = []
    received = False

    async def receive() -> Message:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/incidents",
        "raw_path": b"/api/v1/incidents",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
        "headers": [
            (b"host", b"klaxon.test"),
            (b"content-type", b"application/json"),
            (b"content-length", declared),
            (b"authorization", f"Bearer {ADMIN_TOKEN}".encode()),
        ],
        "state": {},
    }
    await app(scope, receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 201, sent
    [created] = (await client.get("/api/v1/incidents")).json()["items"]
    assert created["title"] == "Checkout down"
