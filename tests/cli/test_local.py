"""The local commands: check-config, migrate, apply's failures and the tokens."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings
from tests.cli.conftest import klaxon

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "klaxon.example.yaml"
ONCALL_EXAMPLE = EXAMPLE.with_name("oncall.example.yaml")
CREATED = re.compile(r"^created token (\d+) \(ingest, am\):$")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


# --- check-config -----------------------------------------------------------------


def test_check_config_accepts_the_example() -> None:
    result = run("check-config", str(EXAMPLE), "--oncall", str(ONCALL_EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{EXAMPLE}: OK (3 severity rules, 2 routes)\n"
    assert result.stderr == ""


def test_check_config_prints_each_error_with_its_line_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "severity_rules:\n"
        "  - matchers: ['x=\"1\"']\n"
        "    severity: SEV0\n"
        "routes:\n"
        "  - name: a\n"
        "    polcy: p\n"
    )
    result = run("check-config", str(path))
    assert result.exit_code == 1
    assert "OK" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:3: severity_rules.0.severity: ")
    assert lines[1] == f"{path}:6: routes.0.polcy: Extra inputs are not permitted"


def test_check_config_reports_invalid_yaml_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("routes:\n  - name: a\n policy: p\n")
    result = run("check-config", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3: invalid YAML: ")


def test_check_config_on_a_missing_file_fails_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    result = run("check-config", str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == f"{path}: cannot read the rules file: No such file or directory\n"


def test_check_config_on_a_non_utf8_file_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"# caf\xe9\nroutes: []\n")
    result = run("check-config", str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == f"{path}:1: the rules file is not valid UTF-8\n"


def test_check_config_needs_a_path() -> None:
    result = run("check-config")
    assert result.exit_code == 2


# --- tokens -----------------------------------------------------------------------


@pytest.fixture
def klaxon_db(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The CLI pointed at a migrated, emptied-after database of each backend."""
    get_settings.cache_clear()
    monkeypatch.setenv("KLAXON_DATABASE_URL", db)
    yield db
    get_settings.cache_clear()


def create_token() -> tuple[int, str]:
    result = run("token", "create", "--scope", "ingest", "--name", "am")
    assert result.exit_code == 0, result.output
    header, secret, *rest = result.stdout.splitlines()
    assert rest == []
    found = CREATED.match(header)
    assert found is not None, header
    return int(found.group(1)), secret


def listed(token_id: int) -> list[str]:
    result = run("token", "list")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    matching = [row for row in rows if row[0] == str(token_id)]
    assert len(matching) == 1, result.stdout
    return matching[0]


def test_settings_follow_the_environment(klaxon_db: str) -> None:
    assert get_settings().database_url == klaxon_db


def test_token_create_prints_the_secret_once(klaxon_db: str) -> None:
    token_id, secret = create_token()
    assert token_id > 0
    assert secret.startswith("kx_")
    assert len(secret) > 30
    _, second = create_token()
    assert second != secret


def test_token_list_shows_the_token_without_its_secret(klaxon_db: str) -> None:
    token_id, secret = create_token()
    result = run("token", "list")
    assert result.exit_code == 0, result.output
    assert secret not in result.stdout
    row = listed(token_id)
    assert row == [str(token_id), "ingest", "am", secret[:10] + "…", "active"]


def test_token_revoke_revokes_and_list_shows_it(klaxon_db: str) -> None:
    token_id, _ = create_token()
    kept_id, _ = create_token()
    result = run("token", "revoke", str(token_id))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"revoked token {token_id}\n"
    assert re.fullmatch(r"revoked \d{4}-\d{2}-\d{2} \d{2}:\d{2}", listed(token_id)[4])
    assert listed(kept_id)[4] == "active"


def test_revoking_twice_fails(klaxon_db: str) -> None:
    token_id, _ = create_token()
    assert run("token", "revoke", str(token_id)).exit_code == 0
    first_state = listed(token_id)[4]
    again = run("token", "revoke", str(token_id))
    assert again.exit_code == 1
    assert again.stderr == f"no active token {token_id}\n"
    assert listed(token_id)[4] == first_state


def test_revoking_an_unknown_token_fails(klaxon_db: str) -> None:
    result = run("token", "revoke", "999999")
    assert result.exit_code == 1
    assert result.stderr == "no active token 999999\n"


def test_token_create_with_an_unknown_scope_fails_with_a_message(klaxon_db: str) -> None:
    result = run("token", "create", "--scope", "root", "--name", "am")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "unknown scope 'root'; choose one of ingest, read, write, config, admin\n"
    )
    listing = run("token", "list")
    assert listing.exit_code == 0
    assert listing.stdout == ""


def test_token_create_requires_a_scope() -> None:
    result = run("token", "create", "--name", "am")
    assert result.exit_code == 2
    assert "--scope" in result.output


def test_token_create_refuses_an_overlong_name(klaxon_db: str) -> None:
    result = run("token", "create", "--scope", "read", "--name", "x" * 101)
    assert result.exit_code == 2
    assert result.stderr == "--name must be 1 to 100 characters, not 101\n"
    assert run("token", "list").stdout == ""


async def test_token_json_matches_the_token_api(klaxon_db: str, client: httpx.AsyncClient) -> None:
    created = await klaxon("token", "create", "--scope", "write", "--name", "ci", "--json")
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert set(token) == {"id", "name", "scope", "token"}
    assert (token["name"], token["scope"]) == ("ci", "write")
    # The secret printed is one Klaxon accepts.
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 200
    assert (await klaxon("token", "revoke", str(token["id"]))).exit_code == 0

    listed = await klaxon("token", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert token["token"] not in listed.stdout
    api = await client.get("/api/v1/tokens")
    assert json.loads(listed.stdout) == api.json()
    assert [t["revoked_at"] is not None for t in api.json()] == [True]


# --- the database unreachable or unusable -------------------------------------------


@pytest.fixture
def database_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """KLAXON_DATABASE_URL names a PostgreSQL on a port that refuses connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        where = f"127.0.0.1:{sock.getsockname()[1]}/klaxon"
        monkeypatch.setenv("KLAXON_DATABASE_URL", f"postgresql+asyncpg://klaxon:s3cret@{where}")
        get_settings.cache_clear()
        yield f"postgresql+asyncpg://{where}"
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "consequence"),
    [
        (["migrate"], "the schema was not changed"),
        (["token", "create", "--scope", "read"], "no token was created"),
        (["token", "list"], ""),
        (["token", "revoke", "1"], ""),
        (["apply", "-f", str(ONCALL_EXAMPLE)], "nothing was written"),
    ],
)
def test_an_unreachable_database_is_exit_3_in_one_line(
    database_down: str, args: list[str], consequence: str
) -> None:
    result = run(*args)
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    line = result.stderr
    assert line.startswith(f"cannot reach the database at {database_down} (")
    assert line.endswith(f"; {consequence}\n" if consequence else ")\n")
    assert line.count("\n") == 1
    assert "s3cret" not in line


def test_an_unusable_database_url_is_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_DATABASE_URL", "bogus://db.example/klaxon")
    get_settings.cache_clear()
    try:
        result = run("migrate")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "KLAXON_DATABASE_URL 'bogus://db.example/klaxon' is not a usable database URL: "
    )
    assert result.stderr.endswith("; the schema was not changed\n")
    assert result.stderr.count("\n") == 1


def test_migrate_makes_a_new_database_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("KLAXON_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        for _ in range(2):
            result = run("migrate")
            assert result.exit_code == 0, result.output
            assert result.stdout == "database schema is up to date\n"
        assert run("token", "list").exit_code == 0  # the tables are there
    finally:
        get_settings.cache_clear()
