"""Running Klaxon (or the ceiling app) as its own process for benchmarks, the way
it is deployed: ``klaxon serve`` (uvicorn with uvloop and httptools, and on
PostgreSQL the escalation engine's own process) on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import free_port
from tests.services.klaxon import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    url: str
    pid: int


#: uvicorn's options for the servers the bench starts with uvicorn (the ceiling);
#: ``klaxon serve`` picks the same (uvicorn's "auto": uvloop and httptools).
UVICORN_OPTIONS = ("--loop", "uvloop", "--http", "httptools")
#: The app that the bench serves the way it is deployed, with ``klaxon serve``.
KLAXON_APP = "app.asgi:app"


@contextmanager
def serve(
    app: str, env: dict[str, str], *, workers: int = 1, ready_path: str = "/readyz"
) -> Iterator[Served]:
    """``app`` under uvicorn in its own process on a free loopback port, until the
    block ends; waits until ``ready_path`` answers (any answer below 500)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if app == KLAXON_APP:
        # As deployed: ``klaxon serve``, which on PostgreSQL runs the escalation
        # engine in a process of its own beside the web workers.
        cmd = [sys.executable, "-c", "from app.cli import main; main()", "serve"]
        env = {
            "KLAXON_HOST": "127.0.0.1",
            "KLAXON_PORT": str(port),
            "KLAXON_WORKERS": str(workers),
            "KLAXON_LOG_LEVEL": "warning",
            **env,
        }
    else:
        cmd = uvicorn_command(port, "--workers", str(workers), *UVICORN_OPTIONS, app=app)
    # With Twilio configured Klaxon needs the address its callbacks reach.
    env = {"KLAXON_PUBLIC_URL": url, **env}
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts it slowly
        while True:
            try:
                with urllib.request.urlopen(f"{url}{ready_path}", timeout=1) as resp:
                    if resp.status < 500:
                        break
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{app} did not become ready")
            time.sleep(0.1)
        yield Served(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def klaxon_env(database_url: str, admin_token: str) -> dict[str, str]:
    return {
        "KLAXON_DATABASE_URL": database_url,
        "KLAXON_ADMIN_TOKEN": admin_token,
        "KLAXON_CONFIG": str(ROOT / "deploy" / "klaxon.example.yaml"),
        "KLAXON_DB_POOL_SIZE": "20",
        # The benchmark measures capacity, not a sender: no ingest rate limit.
        "KLAXON_INGEST_RATE": "1000000",
        "KLAXON_INGEST_BURST": "1000000",
    }


@contextmanager
def klaxon_process(
    database_url: str,
    admin_token: str,
    *,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    env = {**klaxon_env(database_url, admin_token), **(extra_env or {})}
    with serve("app.asgi:app", env, workers=workers) as served:
        yield served.url


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
