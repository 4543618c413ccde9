"""Shared fixtures: every API test runs on SQLite and on a private PostgreSQL.

Databases are built by ``alembic upgrade head`` (so migrations are tested too)
once per backend, and emptied after each test.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import ManualClock
from app.main import create_app
from app.migrate import upgrade
from app.models import metadata
from app.settings import Settings
from tests.services.postgres import PrivatePostgres, private_postgres

#: The paging set-up (Klaxon under uvicorn, a fake Twilio on loopback, the engine
#: driven by the test's clock): the ``fake_twilio`` and ``paging`` fixtures; and the
#: ``browser`` fixture (a real headless Chromium, tests/browser.py): for every test,
#: registered here once rather than re-exported by each folder that uses them.
pytest_plugins = ["tests.paging", "tests.browser"]

FIXTURES = Path(__file__).parent / "fixtures"
RULES = FIXTURES / "rules.yaml"
ADMIN_TOKEN = "test-admin-token"
BACKENDS = ["sqlite", "postgresql"]


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "alertmanager" / name).read_text())
    return data


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.postgresql_only``: the one way to run a test on PostgreSQL only
    (row locks, concurrent replicas, a server to stop). Its SQLite variant is
    skipped before its database is set up."""
    marker = item.get_closest_marker("postgresql_only")
    if marker is None:
        return
    callspec = getattr(item, "callspec", None)
    if callspec is None or "database_url" not in callspec.params:
        raise pytest.UsageError(f"{item.nodeid}: postgresql_only needs the database_url fixture")
    if callspec.params["database_url"] != "postgresql":
        pytest.skip(f"PostgreSQL only: {marker.args[0] if marker.args else item.name}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="klaxon-tests-") as root:
        yield Path(root)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_root: Path) -> str:
    """A migrated database of each backend, shared by the session."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_root / 'klaxon.db'}"
    else:
        server: PrivatePostgres = request.getfixturevalue("postgres")
        url = server.create_database("klaxon_tests")
    upgrade(url)
    return url


async def empty_database(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f"DELETE FROM {table}"))
    await engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[str]:
    yield database_url
    await empty_database(database_url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "config": RULES,
        "admin_token": ADMIN_TOKEN,
        "token_cache_seconds": 0,
        # Tests that page drive the engine themselves (tests/escalation).
        "engine_enabled": False,
        # The status page's refresh gives up after 2 s in production; a busy test
        # machine can take longer to read it (tests of that timeout set their own).
        "status_refresh_timeout": 30,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(db: str) -> Settings:
    return make_settings(db)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://klaxon.test",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as http:
        yield http


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KLAXON_"):
            monkeypatch.delenv(name)
