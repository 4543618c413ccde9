"""Time limits on requests (app/deadline.py): a database that does not answer
costs a request ``KLAXON_REQUEST_TIMEOUT``, then a 503 to retry, with nothing
written; a body that never finishes arriving costs ``KLAXON_BODY_READ_TIMEOUT``,
then a 408 and a closed connection, on a real uvicorn process.

A frozen PostgreSQL (SIGSTOP) is drilled in tests/drill/test_database_frozen.py;
here the database is alive but another connection holds the lock a webhook
needs. PostgreSQL waits for it (until ``KLAXON_DB_STATEMENT_TIMEOUT``, and
before these limits for 30 s); SQLite already answers "database is locked" at
once, so there the test guards that the limit changes nothing for the worse.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import ManualClock
from app.main import create_app
from app.migrate import upgrade_async
from tests.conftest import ADMIN_TOKEN, RULES, make_settings
from tests.helpers import WEBHOOK, am_alert, am_payload
from tests.services.klaxon import KlaxonProcess

REQUEST_TIMEOUT = 1.0

BOUND = REQUEST_TIMEOUT + 1.5  # the deadline, and a loaded machine's slack


@contextlib.asynccontextmanager
async def write_lock_held(url: str) -> AsyncIterator[None]:
    """Another client holds the lock every ingest needs, until the block ends."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as locked:
            await locked.execute(text("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE"))
            yield
            await locked.rollback()
    finally:
        await engine.dispose()


async def test_a_webhook_waiting_on_the_database_is_503_in_time_and_lands_on_retry(
    db: str, clock: ManualClock
) -> None:
    app = create_app(make_settings(db, request_timeout=REQUEST_TIMEOUT), clock=clock)
    payload = am_payload([am_alert("deadline00000001", service="checkout")])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as client,
    ):
        async with write_lock_held(db):
            started = time.monotonic()
            refused = await asyncio.wait_for(client.post(WEBHOOK, json=payload), 15)
            took = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "5"
        assert "retry later" in refused.json()["detail"]
        assert took < BOUND, f"answered after {took:.1f} s"

        landed = await client.post(WEBHOOK, json=payload)
        assert landed.status_code == 200, landed.text
        incidents = (await client.get("/api/v1/incidents")).json()["items"]
        assert len(incidents) == 1, "the 503's work was rolled back, not doubled"
        detail = (await client.get(f"/api/v1/incidents/{incidents[0]['number']}")).json()
        assert [a["fingerprint"] for a in detail["alerts"]] == ["deadline00000001"]


async def _raw_request(port: int, head: str, parts: list[bytes], pause: float) -> bytes:
    """Send ``head`` and the body ``parts`` (``pause`` apart), then read the
    answer until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n")
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def test_a_body_that_never_finishes_arriving_is_cut_off_with_a_408(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'klaxon.db'}"
    await upgrade_async(url)
    env = {
        "KLAXON_DATABASE_URL": url,
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_CONFIG": str(RULES),
        "KLAXON_ENGINE_ENABLED": "false",
        "KLAXON_BODY_READ_TIMEOUT": "1",
    }
    klaxon = KlaxonProcess("klaxon", env, tmp_path)
    klaxon.launch()
    try:
        await klaxon.wait_ready()
        # A webhook reads its body itself; the token API has FastAPI read it.
        for path in (WEBHOOK, "/api/v1/tokens"):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n"
            )
            started = time.monotonic()
            answer = await _raw_request(klaxon.port, head, [b'{"name": "sl'], 0)
            took = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408 "), (path, answer)
            assert b"request body not received within 1 s" in answer
            assert 1 <= took < 5, (path, took)

        # A slow body that arrives in time is served as usual.
        body = b'{"name": "slow-but-whole", "scope": "read"}'
        head = (
            f"POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        answer = await _raw_request(klaxon.port, head, [body[:10], body[10:]], 0.3)
        assert answer.startswith(b"HTTP/1.1 201 "), answer
    finally:
        klaxon.stop()
