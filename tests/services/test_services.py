"""Smoke tests for the private PostgreSQL and Alertmanager test services."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import pytest

from .alertmanager import private_alertmanager
from .postgres import PrivatePostgres, private_postgres

TOKEN = "test-token-3f9c"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        value: int = await conn.fetchval("SELECT 1")
        return value
    finally:
        await conn.close()


async def test_postgres_accepts_connections(postgres: PrivatePostgres) -> None:
    assert postgres.url == f"postgresql+asyncpg://klaxon@127.0.0.1:{postgres.port}/klaxon"
    assert await _select_one(postgres.dsn) == 1


async def test_postgres_restarts_on_same_port(postgres: PrivatePostgres) -> None:
    port = postgres.port
    postgres.stop()
    with pytest.raises((OSError, asyncpg.PostgresError)):
        await _select_one(postgres.dsn)
    postgres.start()
    assert postgres.port == port
    assert await _select_one(postgres.dsn) == 1


async def test_postgres_create_database(postgres: PrivatePostgres) -> None:
    url = postgres.create_database("klaxon_extra")
    assert url.endswith(f":{postgres.port}/klaxon_extra")
    assert await _select_one(postgres.dsn_for("klaxon_extra")) == 1


async def _durability(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        names = ("fsync", "synchronous_commit", "full_page_writes")
        return {name: await conn.fetchval(f"SHOW {name}") for name in names}
    finally:
        await conn.close()


async def test_postgres_for_tests_skips_durability(postgres: PrivatePostgres) -> None:
    assert await _durability(postgres.dsn) == {
        "fsync": "off",
        "synchronous_commit": "on",
        "full_page_writes": "off",
    }


async def test_durable_postgres_keeps_postgresql_defaults() -> None:
    # What make bench runs on: production's durability, not the tests' shortcut.
    with private_postgres(durable=True) as pg:
        assert await _durability(pg.dsn) == {
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
        }


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.received: list[tuple[str | None, dict[str, Any]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.received.append((self.headers.get("Authorization"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _wait_for(
    receiver: _Receiver, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> tuple[str | None, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver.lock:
            for auth, body in receiver.received:
                if predicate(body):
                    return auth, body
        time.sleep(0.1)
    raise AssertionError(f"no matching webhook within {timeout}s; got {receiver.received!r}")


def test_alertmanager_delivers_firing_and_resolved(receiver: _Receiver) -> None:
    labels = {"alertname": "DiskFull", "service": "db", "severity": "critical"}
    with private_alertmanager(receiver.url, TOKEN) as am:
        am.post_alerts([{"labels": labels, "annotations": {"summary": "disk 99% full"}}])

        auth, body = _wait_for(receiver, lambda b: b["status"] == "firing")
        assert auth == f"Bearer {TOKEN}"
        assert body["receiver"] == "klaxon"
        assert body["groupLabels"] == {"alertname": "DiskFull", "service": "db"}
        assert [a["labels"] for a in body["alerts"]] == [labels]
        assert body["alerts"][0]["annotations"] == {"summary": "disk 99% full"}
        assert body["externalURL"] == am.url

        am.resolve(labels)
        auth, body = _wait_for(receiver, lambda b: b["status"] == "resolved")
        assert auth == f"Bearer {TOKEN}"
        assert [(a["labels"], a["status"]) for a in body["alerts"]] == [(labels, "resolved")]


def test_alertmanager_fire_and_resolve_helpers(receiver: _Receiver) -> None:
    labels = {"alertname": "HighLatency", "service": "api", "instance": "a"}
    with private_alertmanager(receiver.url, TOKEN, group_by=["alertname"]) as am:
        am.fire(labels, {"summary": "p99 > 2s"})
        _, body = _wait_for(receiver, lambda b: b["status"] == "firing")
        assert body["groupLabels"] == {"alertname": "HighLatency"}

        am.resolve(labels)
        _, body = _wait_for(receiver, lambda b: b["status"] == "resolved")
        # resolve() carries the annotations over from fire().
        assert body["alerts"][0]["annotations"] == {"summary": "p99 > 2s"}
        assert "Listening on" in am.log_tail(200)
