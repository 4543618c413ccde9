"""The installed ``klaxon`` script (``app.cli:main``) as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ADMIN_TOKEN

KLAXON = Path(sys.executable).with_name("klaxon")


def run_klaxon(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    return subprocess.run(
        [str(KLAXON), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_help_lists_every_command() -> None:
    result = run_klaxon("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "migrate", "check-config", "apply", "token", "incidents"):
        assert command in result.stdout
    assert "oncall" in result.stdout and "reply" in result.stdout


def test_an_unreachable_klaxon_is_one_line_and_exit_3(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    result = run_klaxon("incidents", "list", "--url", url, "--token", ADMIN_TOKEN)
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"cannot reach Klaxon at {url}: ")
    assert result.stderr.count("\n") == 1


def test_a_bad_option_is_exit_2() -> None:
    result = run_klaxon("incidents", "list", "--status", "closed")
    assert result.returncode == 2
    assert "--status" in result.stderr
