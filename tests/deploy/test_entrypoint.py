"""deploy/docker-entrypoint.sh, run here as the image runs it: `klaxon migrate`,
then exec the command (so it is PID 1 and gets the signals), unless
KLAXON_MIGRATE_ON_START=false. Uses this checkout's `klaxon` and a SQLite file;
the HEALTHCHECK command of deploy/Dockerfile is run against the served process."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from alembic.script import ScriptDirectory

from app.migrate import alembic_config
from tests.deploy._support import (
    DEPLOY,
    ENTRYPOINT,
    RULES_EXAMPLE,
    dockerfile_instructions,
    run,
    tool,
)

ONCALL_EXAMPLE = DEPLOY / "oncall.example.yaml"
# The command the entrypoint runs in these tests. check-config checks the routes'
# policies against KLAXON_DATABASE_URL's database, which the entrypoint has just
# migrated but nobody has applied an on-call file to: the policies are the
# example on-call file's.
CHECK_CONFIG = ["klaxon", "check-config", str(RULES_EXAMPLE), "--oncall", str(ONCALL_EXAMPLE)]
SERVE_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A clean environment: the venv's `klaxon` first on PATH, no ambient KLAXON_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["KLAXON_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'klaxon.db'}"
    env["KLAXON_CONFIG"] = str(RULES_EXAMPLE)
    env.update(settings)
    return env


def _entrypoint(
    tmp_path: Path, args: list[str], **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        cwd=tmp_path,
        env=_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _schema_revision(db: Path) -> str | None:
    if not db.exists():
        return None
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return str(rows[0][0]) if rows else None


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_the_script_parses_as_posix_sh() -> None:
    result = run(["sh", "-n", str(ENTRYPOINT)])
    assert result.returncode == 0, result.stderr
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    assert os.access(ENTRYPOINT, os.X_OK)


def test_shellcheck_passes() -> None:
    result = run([tool("shellcheck"), "--shell=sh", str(ENTRYPOINT)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrates_then_runs_the_command(tmp_path: Path) -> None:
    result = _entrypoint(tmp_path, CHECK_CONFIG)
    assert result.returncode == 0, result.stderr
    assert "database schema is up to date" in result.stdout
    assert f"{RULES_EXAMPLE}: OK" in result.stdout
    assert result.stdout.index("up to date") < result.stdout.index(": OK")
    assert _schema_revision(tmp_path / "klaxon.db") == _head()


def test_migrate_on_start_false_runs_only_the_command(tmp_path: Path) -> None:
    # The command is given no database (check-config would read, and SQLite
    # create, KLAXON_DATABASE_URL's): the file must not exist because the
    # entrypoint did not migrate, not in spite of the command.
    result = _entrypoint(
        tmp_path,
        ["env", "-u", "KLAXON_DATABASE_URL", *CHECK_CONFIG],
        KLAXON_MIGRATE_ON_START="false",
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" not in result.stdout
    assert f"{RULES_EXAMPLE}: OK" in result.stdout
    assert not (tmp_path / "klaxon.db").exists()


def test_an_unknown_migrate_on_start_value_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = _entrypoint(tmp_path, ["touch", str(marker)], KLAXON_MIGRATE_ON_START="sometimes")
    assert result.returncode == 64
    assert "KLAXON_MIGRATE_ON_START must be true or false" in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "klaxon.db").exists()


def test_a_failed_migration_stops_before_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = _entrypoint(
        tmp_path,
        ["touch", str(marker)],
        KLAXON_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'klaxon.db'}",
    )
    assert result.returncode != 0
    assert not marker.exists()


def test_the_command_replaces_the_script_and_its_status_is_the_containers(tmp_path: Path) -> None:
    """exec: the command keeps the script's PID (PID 1 in a container, so it gets
    SIGTERM and SIGHUP), and its exit status is the container's."""
    process = subprocess.Popen(
        [
            "sh",
            str(ENTRYPOINT),
            "python",
            "-c",
            "import os; print(os.getpid()); raise SystemExit(3)",
        ],
        cwd=tmp_path,
        env=_env(tmp_path, KLAXON_MIGRATE_ON_START="false"),
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout, _ = process.communicate(timeout=60)
    assert int(stdout.strip()) == process.pid
    assert process.returncode == 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthcheck_argv() -> list[str]:
    (check,) = [i.value for i in dockerfile_instructions() if i.keyword == "HEALTHCHECK"]
    argv: list[str] = json.loads(check.partition("CMD ")[2])
    return argv


def _healthcheck(tmp_path: Path, port: int) -> int:
    result = subprocess.run(
        _healthcheck_argv(),
        env=_env(tmp_path, KLAXON_PORT=str(port)),
        capture_output=True,
        timeout=10,
        check=False,
    )
    return result.returncode


def test_by_default_migrates_and_serves_and_the_dockerfile_healthcheck_sees_it(
    tmp_path: Path,
) -> None:
    port = _free_port()
    assert _healthcheck(tmp_path, port) != 0  # nothing listens yet
    process = subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        cwd=tmp_path,
        env=_env(tmp_path, KLAXON_HOST="127.0.0.1", KLAXON_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT
        healthy = False
        while time.monotonic() < deadline and process.poll() is None:
            if _healthcheck(tmp_path, port) == 0:
                healthy = True
                break
            time.sleep(0.2)
        assert healthy, f"not healthy within {SERVE_TIMEOUT} s (exit {process.poll()})"
        assert _schema_revision(tmp_path / "klaxon.db") == _head()
        # SIGTERM goes to the script's PID, which is klaxon itself: it shuts down
        # gracefully, then uvicorn re-raises the signal, as its exit status says.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=STOP_TIMEOUT) == -signal.SIGTERM
        assert process.stderr is not None
        log = process.stderr.read()
        assert "klaxon-entrypoint: klaxon migrate" in log
        assert f"Finished server process [{process.pid}]" in log
        assert _healthcheck(tmp_path, port) != 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        if process.stderr is not None:
            process.stderr.close()
