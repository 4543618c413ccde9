"""Klaxon as its own process, the way it is deployed, for drills that kill it.

``KlaxonProcess`` runs ``python -m uvicorn app.asgi:app`` on a free 127.0.0.1
port with its settings in the environment, waits for ``/readyz``, and can be
killed with SIGKILL (no shutdown hook runs, connections drop as in a crash) or
stopped politely. Each process writes its stderr to a file of its own, which a
failing drill prints.

Processes started for one drill share a clock through ``KLAXON_CLOCK_OFFSET_FILE``
(``SharedClock``): the test writes a larger offset and every process sees time
jump forward together, so no drill waits out an escalation delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path

import httpx

__all__ = [
    "CLEAN_EXIT",
    "KlaxonProcess",
    "SharedClock",
    "klaxon_processes",
    "uvicorn_command",
]

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
#: uvicorn shuts down on SIGTERM, then raises the signal again so that the exit
#: status says why it stopped; a process that hung is SIGKILLed (-9).
CLEAN_EXIT = -signal.SIGTERM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def uvicorn_command(port: int, *options: str, app: str = "app.asgi:app") -> list[str]:
    """``python -m uvicorn app.asgi:app`` (or another ``app``) on 127.0.0.1:``port``,
    logging warnings only and no access log, with ``options`` (``--workers``, ...) added."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        *options,
    ]


class SharedClock:
    """The offset file the processes' clocks read (``app.clock.OffsetFileClock``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self.path.write_text("0\n")

    def advance(self, seconds: float) -> None:
        """Jump every process forward by ``seconds``; each notices within a poll."""
        self.offset += seconds
        # Write then rename, so a process never reads half a number.
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(f"{self.offset}\n")
        scratch.replace(self.path)


class KlaxonProcess:
    """One Klaxon replica: ``uvicorn app.asgi:app`` on its own port."""

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command`` replaces ``uvicorn app.asgi:app`` (e.g. ``klaxon serve``,
        which reads its port from ``KLAXON_PORT``)."""
        self.name = name
        self.command = list(command) if command is not None else None
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        # The replica's own address is the one Twilio calls back, so every request
        # the fake Twilio records says which replica sent it.
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")},
            "KLAXON_PUBLIC_URL": self.url,
            **env,
            "KLAXON_PORT": str(self.port),
        }
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def launch(self) -> None:
        if self._proc is not None:
            raise RuntimeError(f"{self.name} was already launched")
        cmd = self.command or uvicorn_command(self.port)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as http:
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited before ready:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                if loop.time() > deadline:
                    raise RuntimeError(f"{self.name} not ready in {timeout}s:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, open transactions and claims are cut off."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise RuntimeError(f"{self.name} is not running")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(STOP_TIMEOUT)

    def stop(self) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if it does not exit in
        time; returns the exit code (-9 when it had to be killed), None if it was
        never started."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def klaxon_processes(
    count: int, env: Mapping[str, str], log_dir: Path
) -> AsyncIterator[list[KlaxonProcess]]:
    """``count`` replicas with the same settings, all ready; stopped on exit."""
    replicas = [KlaxonProcess(f"klaxon-{i}", env, log_dir) for i in range(count)]
    try:
        for replica in replicas:
            replica.launch()
        await asyncio.gather(*(r.wait_ready() for r in replicas))
        yield replicas
    finally:
        for replica in replicas:
            replica.stop()


def output_until_listening(cmd: list[str], env: Mapping[str, str]) -> str:
    """What a serving command (``klaxon serve``) prints until it listens; then
    it is stopped with SIGINT, and what it printed while stopping is added."""
    with subprocess.Popen(
        cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        lines = []
        try:
            for line in proc.stdout:  # bounded: it prints a few lines, then listens
                lines.append(line)
                if "Uvicorn running" in line or "Application startup complete" in line:
                    break
        finally:
            proc.send_signal(signal.SIGINT)
            rest, _ = proc.communicate(timeout=30)
    return "".join(lines) + rest
