"""Running Klaxon as its own process for benchmarks, the way it is deployed."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.e2e.conftest import free_port
from tests.services.klaxon import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def klaxon_process(
    database_url: str,
    admin_token: str,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "KLAXON_DATABASE_URL": database_url,
        "KLAXON_ADMIN_TOKEN": admin_token,
        "KLAXON_CONFIG": str(ROOT / "deploy" / "klaxon.example.yaml"),
        "KLAXON_DB_POOL_SIZE": "20",
        # The benchmark measures capacity, not a sender: no ingest rate limit.
        "KLAXON_INGEST_RATE": "1000000",
        "KLAXON_INGEST_BURST": "1000000",
        **(extra_env or {}),
    }
    cmd = uvicorn_command(
        port, "--workers", str(workers), "--loop", "uvloop", "--http", "httptools"
    )
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("Klaxon did not become ready")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def klaxon_replicas(
    database_url: str,
    admin_token: str,
    replicas: int,
    *,
    extra_env: dict[str, str] | None = None,
) -> Iterator[list[str]]:
    """Separate Klaxon processes on one database, each with its own port and
    escalation engine: replicas as a Deployment runs them."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(klaxon_process(database_url, admin_token, extra_env=extra_env))
            for _ in range(replicas)
        ]
