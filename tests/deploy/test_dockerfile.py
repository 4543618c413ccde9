"""deploy/Dockerfile: hadolint passes, and the image keeps its promises (a slim
base, dependencies in a layer before the code, a non-root user, a HEALTHCHECK on
/healthz, the migrate-then-exec entrypoint). No Docker engine runs on the test
machines, so the image is linted and read here, not built."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path

from tests.deploy._support import (
    DOCKERFILE,
    ENTRYPOINT,
    REPO,
    Instruction,
    dockerfile_instructions,
    run,
    tool,
)


def _dockerfile() -> list[Instruction]:
    return dockerfile_instructions()


def _index(keyword: str, containing: str) -> int:
    for i, instruction in enumerate(_dockerfile()):
        if instruction.keyword == keyword and containing in instruction.value:
            return i
    raise AssertionError(f"no {keyword} with {containing!r}")


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in _dockerfile():
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.value):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_hadolint_passes_at_warning_threshold() -> None:
    result = run([tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_warnings(tmp_path: Path) -> None:
    """The check above can fail: the same lint refuses a careless Dockerfile."""
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install klaxon\n")
    result = run([tool("hadolint"), "--failure-threshold", "warning", str(careless)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def test_base_image_is_a_pinned_slim_python() -> None:
    (base,) = [i.value for i in _dockerfile() if i.keyword == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base


def test_dependencies_are_installed_in_a_layer_before_the_code_is_copied() -> None:
    instructions = _dockerfile()
    install = _index("RUN", "--requirement")
    copies_before = [i.value for i in instructions[:install] if i.keyword in {"COPY", "ADD"}]
    assert copies_before == ["pyproject.toml ./"]
    assert "pyproject.toml" in instructions[install].value
    assert _index("COPY", "app ") > install


def test_everything_klaxon_migrate_reads_is_copied_beside_the_app_package() -> None:
    """`klaxon migrate` finds alembic.ini and alembic/ next to app/ (app/migrate.py):
    they are copied into the same directory, which is installed in place."""
    workdirs = [i.value for i in _dockerfile() if i.keyword == "WORKDIR"]
    assert _index("COPY", "alembic.ini ./") > _index("WORKDIR", workdirs[0])
    assert _index("COPY", "alembic ./alembic") < _index("RUN", "--editable .")
    assert _index("COPY", "app ./app") < _index("RUN", "--editable .")
    assert (REPO / "alembic.ini").is_file() and (REPO / "alembic" / "env.py").is_file()


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [i.value for i in _dockerfile() if i.keyword == "USER"]
    assert users, "no USER: the container would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric, so Kubernetes can check runAsNonRoot
    assert _index("USER", users[-1]) > _index("RUN", "useradd")
    assert f"--uid {uid}" in _dockerfile()[_index("RUN", "useradd")].value


def test_healthcheck_asks_healthz_on_the_served_port() -> None:
    (check,) = [i.value for i in _dockerfile() if i.keyword == "HEALTHCHECK"]
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)
    assert argv[0] == "python"
    assert "/healthz" in argv[-1]
    assert "KLAXON_PORT" in argv[-1]


def test_containers_listen_on_every_interface_and_expose_the_port() -> None:
    env = _env()
    assert env["KLAXON_HOST"] == "0.0.0.0"
    (exposed,) = [i.value for i in _dockerfile() if i.keyword == "EXPOSE"]
    assert exposed == env["KLAXON_PORT"]
    assert Path(env["KLAXON_CONFIG"]).is_absolute()
    assert env["KLAXON_MIGRATE_ON_START"] == "true"


def test_entrypoint_is_the_migrate_then_exec_script_and_serves_by_default() -> None:
    (entrypoint,) = [json.loads(i.value) for i in _dockerfile() if i.keyword == "ENTRYPOINT"]
    (cmd,) = [json.loads(i.value) for i in _dockerfile() if i.keyword == "CMD"]
    copied = _dockerfile()[_index("COPY", ENTRYPOINT.name)].value.split()
    assert copied[-2:] == [f"deploy/{ENTRYPOINT.name}", f"/usr/local/bin/{entrypoint[0]}"]
    assert "--chmod=0755" in copied
    assert cmd == ["klaxon", "serve"]


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """BuildKit's rule: the last pattern that matches the path or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern[1:] if negate else pattern
        glob = glob.rstrip("/")
        if any(fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(c, f"*/{glob}") for c in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_sends_every_copied_file_and_nothing_else() -> None:
    ignore_file = DOCKERFILE.with_name(DOCKERFILE.name + ".dockerignore")
    patterns = [
        line.strip()
        for line in ignore_file.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for instruction in _dockerfile():
        if instruction.keyword == "COPY":
            args = [a for a in instruction.value.split() if not a.startswith("--")]
            sources += args[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        files = (
            [source]
            if (REPO / source).is_file()
            else [str(p.relative_to(REPO)) for p in (REPO / source).rglob("*.py")]
        )
        for file in files:
            assert not _dockerignored(file, patterns), f"{file} is copied but ignored"
    for unwanted in (".venv/bin/python", "tests/conftest.py", ".git/HEAD", "klaxon.db"):
        assert _dockerignored(unwanted, patterns), unwanted
