"""deploy/examples/executor.py, the README's end-to-end executor: it runs its
command for a request Klaxon signed, once per Idempotency-Key, and refuses the rest."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.automation.signing import secret_bytes, signed_headers
from tests.automation.harness import SECRET
from tests.fakes.twilio_server import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "executor.py"
BODY = '{"incident": "7", "service": "checkout"}'


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    ran = tmp_path / "ran.txt"
    command = f"/restart-checkout=sh -c 'echo restarted >> {ran}; echo done'"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", str(port), "--run", command],
        env={"EXECUTOR_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # bounded wait for the port to listen
            try:
                httpx.get(url, timeout=0.2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, ran
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_signed_request_runs_the_command_once_per_idempotency_key(
    executor: tuple[str, Path],
) -> None:
    url, ran = executor
    headers = signed_headers(secret_bytes(SECRET), "klaxon-7-restart-checkout", BODY)
    first = httpx.post(f"{url}/restart-checkout", content=BODY, headers=headers, timeout=10)
    assert first.status_code == 200
    assert first.json() == {"exit": 0, "output": "done\n"}
    again = httpx.post(f"{url}/restart-checkout", content=BODY, headers=headers, timeout=10)
    assert again.json() == first.json()
    assert ran.read_text() == "restarted\n"


def test_a_request_with_a_wrong_signature_or_path_is_refused(executor: tuple[str, Path]) -> None:
    url, ran = executor
    headers = signed_headers(secret_bytes(SECRET), "klaxon-7-restart-checkout", BODY)
    forged = httpx.post(
        f"{url}/restart-checkout", content=BODY.replace("7", "8"), headers=headers, timeout=10
    )
    assert forged.status_code == 401
    unknown = httpx.post(f"{url}/drop-database", content=BODY, headers=headers, timeout=10)
    assert unknown.status_code == 404
    assert not ran.exists()
