"""``klaxon check-config`` refuses routes that name an escalation policy that does
not exist, in the on-call file given (--oncall) or in the database (--database-url
or KLAXON_DATABASE_URL); with neither, it says the policies were not checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EXAMPLE = DEPLOY / "klaxon.example.yaml"
ONCALL_EXAMPLE = DEPLOY / "oncall.example.yaml"
NOT_CHECKED = (
    "warning: escalation policies were not checked: routes may name policies that do not"
    " exist (give --oncall FILE or --database-url)\n"
)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=env)
    finally:
        get_settings.cache_clear()


@pytest.fixture
def mistyped(tmp_path: Path) -> Path:
    """The example rules with the payments route's policy mistyped (line 33)."""
    path = tmp_path / "rules.yaml"
    text = EXAMPLE.read_text()
    assert "    policy: payments-oncall\n" in text
    path.write_text(text.replace("    policy: payments-oncall\n", "    policy: paymnts-oncall\n"))
    return path


def _line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_a_mistyped_policy_is_refused_against_the_oncall_file(mistyped: Path) -> None:
    result = run("check-config", str(mistyped), "--oncall", str(ONCALL_EXAMPLE))
    assert result.exit_code == 1
    assert "OK" not in result.stdout
    line = _line_of(mistyped, "    policy: paymnts-oncall")
    assert result.stderr == (
        f"{mistyped}:{line}: routes.0.policy: route 'payments' names escalation policy"
        " 'paymnts-oncall', which does not exist (did you mean 'payments-oncall'?)\n"
    )


def test_the_example_passes_against_the_example_oncall_file() -> None:
    result = run("check-config", str(EXAMPLE), "--oncall", str(ONCALL_EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: OK (3 severity rules, 2 routes)\n"
    assert result.stderr == ""


def test_without_oncall_file_or_database_it_warns_the_policies_were_not_checked(
    mistyped: Path,
) -> None:
    result = run("check-config", str(mistyped))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{mistyped}: OK (3 severity rules, 2 routes)\n"
    assert result.stderr == NOT_CHECKED


def test_an_invalid_oncall_file_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "oncall.yaml"
    bad.write_text("policies:\n  - name: x\n    steps: []\n")
    result = run("check-config", str(EXAMPLE), "--oncall", str(bad))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:3: policies.0.steps: ")


def test_a_mistyped_policy_is_refused_against_the_database(db: str, mistyped: Path) -> None:
    applied = run("apply", "-f", str(ONCALL_EXAMPLE), env={"KLAXON_DATABASE_URL": db})
    assert applied.exit_code == 0, applied.output
    result = run("check-config", str(mistyped), "--database-url", db)
    assert result.exit_code == 1
    assert "routes.0.policy: route 'payments' names escalation policy 'paymnts-oncall'" in (
        result.stderr
    )
    # KLAXON_DATABASE_URL, as a deployment sets it, is the database to check against.
    from_env = run("check-config", str(mistyped), env={"KLAXON_DATABASE_URL": db})
    assert from_env.exit_code == 1
    assert from_env.stderr == result.stderr
    ok = run("check-config", str(EXAMPLE), "--database-url", db)
    assert ok.exit_code == 0, ok.output
    assert ok.stderr == ""


def test_an_empty_database_refuses_every_named_policy(db: str) -> None:
    result = run("check-config", str(EXAMPLE), "--database-url", db)
    assert result.exit_code == 1
    assert result.stderr.count("apply an on-call file first") == 3


def test_an_unreachable_database_is_exit_3_and_says_nothing_was_checked(
    tmp_path: Path,
) -> None:
    url = "postgresql+asyncpg://klaxon:secret@127.0.0.1:1/klaxon"
    result = run("check-config", str(EXAMPLE), "--database-url", url)
    assert result.exit_code == 3
    assert result.stderr.startswith("cannot reach the database at postgresql+asyncpg://127.0.0.1:1")
    assert result.stderr.endswith("; the policies were not checked\n")
    assert "secret" not in result.stderr
