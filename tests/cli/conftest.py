"""The ``klaxon`` command against a real Klaxon served by uvicorn on 127.0.0.1.

The server runs in the test's event loop; the command runs in a worker thread
(``CliRunner.invoke`` is synchronous), so the two talk over real HTTP.
The working directory is a fresh temporary one, and ``KLAXON_HOME`` its ``.klaxon``,
so no ``.klaxon/admin-token`` of a developer's ``make run`` is picked up by accident.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from app.cli import cli
from app.clock import ManualClock
from app.settings import get_settings
from tests.conftest import ADMIN_TOKEN, load_fixture
from tests.fakes.twilio_server import serve_asgi

ALICE, BOB = "+15551230001", "+15551230002"

#: Two schedules: ``ops`` hands over daily at 09:00 UTC between alice and bob
#: (bob on 2026-11-26, the tests' clock), ``later`` starts only in 2027.
ONCALL: dict[str, Any] = {
    "responders": [
        {"name": "alice", "phone": ALICE, "time_zone": "America/New_York"},
        {"name": "bob", "phone": BOB, "time_zone": "Europe/London"},
    ],
    "schedules": [
        {
            "name": "ops",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "daily",
                    "participants": ["alice", "bob"],
                    "shift": "1d",
                    "start": "2026-11-01T09:00:00",
                    "handoff": "09:00",
                }
            ],
        },
        {
            "name": "later",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "weekly",
                    "participants": ["alice"],
                    "shift": "1w",
                    "start": "2027-01-04T09:00:00",
                }
            ],
        },
    ],
}


async def klaxon(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """Run ``klaxon ARGS`` in a worker thread, with ``env`` added to the environment."""
    get_settings.cache_clear()
    try:
        return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)
    finally:
        get_settings.cache_clear()


@dataclass
class Served:
    url: str
    api: httpx.AsyncClient  # the same Klaxon, in process, as admin: for setup and checks
    app: FastAPI
    clock: ManualClock

    async def alertmanager(self, fixture: str) -> list[int]:
        """Post an Alertmanager fixture; the numbers of the incidents it touched."""
        response = await self.api.post("/api/v1/webhooks/alertmanager", json=load_fixture(fixture))
        assert response.status_code == 200, response.text
        numbers: list[int] = response.json()["incidents"]
        return numbers

    async def incident(self, number: int) -> dict[str, Any]:
        response = await self.api.get(f"/api/v1/incidents/{number}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


@pytest.fixture(autouse=True)
def _fresh_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _no_ambient_settings: None) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KLAXON_HOME", str(tmp_path / ".klaxon"))


@pytest.fixture
async def served(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> AsyncIterator[Served]:
    async with serve_asgi(app) as url:
        yield Served(url=url, api=client, app=app, clock=clock)


@pytest.fixture
def admin(served: Served) -> dict[str, str]:
    """The environment that points the command at ``served`` as admin."""
    return {"KLAXON_URL": served.url, "KLAXON_TOKEN": ADMIN_TOKEN}


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port
