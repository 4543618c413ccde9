"""Served from memory: the database is read once per change, and while it
cannot be read the page keeps its last good copy, marked stale."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from app.clock import ManualClock
from app.db import make_sessionmaker
from app.main import create_app
from app.migrate import upgrade_async
from app.statuspage.cache import RETRY_SECONDS, StatusCache
from app.statuspage.v2 import DOCUMENTS
from tests.conftest import make_settings
from tests.services.postgres import private_postgres
from tests.statuspage.conftest import STATUS_BLOCK, document, publish, report

ANONYMOUS = {"Authorization": ""}
EVERY_PATH = [
    "/status",
    "/status/history.atom",
    "/status/history.rss",
    *(f"/status/api/v2/{name}.json" for name in DOCUMENTS),
]
UNREACHABLE = "postgresql+asyncpg://nobody:secret@127.0.0.1:9/nothing"


def cache_of(app: FastAPI) -> StatusCache:
    cache: StatusCache = app.state.status_cache
    return cache


async def test_the_database_is_read_once_per_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for path in EVERY_PATH * 5:
        assert (await client.get(path, headers=ANONYMOUS)).status_code == 200, path
    assert cache_of(app).refreshes == 1
    number = await report(client)
    await publish(client, number, components={"checkout": "major_outage"})
    for path in EVERY_PATH * 5:
        assert (await client.get(path, headers=ANONYMOUS)).status_code == 200, path
    assert cache_of(app).refreshes == 2
    assert (await document(client, "status"))["status"]["indicator"] == "critical"


async def test_an_unreachable_database_leaves_the_last_good_copy_marked_stale(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    number = await report(client)
    await publish(client, number, name="Checkout is slow")
    warm = await client.get("/status", headers=ANONYMOUS)
    assert "X-Status-Stale" not in warm.headers
    broken = create_async_engine(UNREACHABLE)
    app.state.runtime.sessions = make_sessionmaker(broken)
    cache_of(app).invalidate()  # as another replica's publication would, past its max age
    try:
        started = time.monotonic()
        for path in EVERY_PATH * 3:
            resp = await client.get(path, headers=ANONYMOUS)
            assert resp.status_code == 200, path
            assert resp.headers["X-Status-Stale"] == "1", path
        assert time.monotonic() - started < 5
        assert cache_of(app).refreshes == 2  # one failed try, then the stale copy
        page = await client.get("/status", headers=ANONYMOUS)
        assert "could not be refreshed" in page.text and "Checkout is slow" in page.text
        incidents = await document(client, "incidents/unresolved")
        assert [i["name"] for i in incidents["incidents"]] == ["Checkout is slow"]
    finally:
        await broken.dispose()


async def test_a_process_that_never_read_the_page_answers_503_without_a_database(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    broken = create_async_engine(UNREACHABLE)
    app.state.runtime.sessions = make_sessionmaker(broken)
    try:
        resp = await client.get("/status/api/v2/summary.json", headers=ANONYMOUS)
        assert resp.status_code == 503 and resp.headers["Retry-After"]
    finally:
        await broken.dispose()


async def test_a_stopped_then_frozen_postgresql_keeps_the_page_served(
    tmp_path: Path, clock: ManualClock
) -> None:
    """The real thing: Klaxon's own PostgreSQL stopped, restarted, then frozen."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        (Path(__file__).parents[1] / "fixtures" / "rules.yaml").read_text() + STATUS_BLOCK
    )
    with private_postgres() as server:
        url = server.url
        await upgrade_async(url)
        settings = make_settings(url, config=rules, status_refresh_timeout=1.0)
        app = create_app(settings, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://klaxon.test",
                headers={"Authorization": f"Bearer {settings.admin_token}"},
            ) as client:
                number = await report(client)
                await publish(client, number, name="Checkout is slow")
                assert (await client.get("/status")).status_code == 200
                for outage, recover in ((server.stop, server.start), (server.freeze, server.thaw)):
                    outage()
                    try:
                        cache_of(app).invalidate()  # a change the page has not read yet
                        took = []
                        for _ in range(20):
                            started = time.monotonic()
                            resp = await client.get("/status/api/v2/summary.json")
                            took.append(time.monotonic() - started)
                            assert resp.status_code == 200
                            assert resp.headers["X-Status-Stale"] == "1"
                            assert resp.json()["incidents"][0]["name"] == "Checkout is slow"
                        # The first may wait out the refresh timeout (1 s); no other does.
                        assert sorted(took)[-2] < 0.9, took
                    finally:
                        recover()
                    await _until_fresh(app, client)


async def _until_fresh(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The page reads the database again once it is back (after the retry delay,
    shortened here)."""
    cache_of(app).retry_seconds = 0.1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        resp = await client.get("/status/api/v2/status.json")
        if resp.status_code == 200 and "X-Status-Stale" not in resp.headers:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the page stayed stale after the database came back")
    cache_of(app).retry_seconds = RETRY_SECONDS
