"""How the API commands find Klaxon and a token, and how each failure reads and exits:
0 done, 1 refused or not found, 2 usage, 3 Klaxon unreachable or unavailable."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli._common import DEV_TOKEN_FILE
from app.clock import ManualClock
from app.main import create_app
from tests.cli.conftest import Served, klaxon
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.fakes.twilio_server import serve_asgi


async def reported(served: Served) -> int:
    response = await served.api.post(
        "/api/v1/incidents", json={"title": "Search is slow", "severity": "SEV3", "service": "web"}
    )
    assert response.status_code in (200, 201), response.text
    number: int = response.json()["number"]
    return number


def shows(stdout: str, number: int) -> bool:
    return any(line.startswith(f"#{number} ") for line in stdout.splitlines()[1:])


# --- where Klaxon is ---------------------------------------------------------------


async def test_an_unreachable_klaxon_is_exit_3_in_one_line(closed_port: int) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    for args in (["incidents", "list"], ["incidents", "ack", "1"], ["oncall"]):
        result = await klaxon(*args, "--url", url, "--token", ADMIN_TOKEN)
        assert result.exit_code == 3, result.output
        assert result.stdout == ""
        assert result.stderr.startswith(f"cannot reach Klaxon at {url}: ")
        assert result.stderr.count("\n") == 1
        assert "Traceback" not in result.output


async def test_a_klaxon_whose_database_is_down_is_exit_3_with_its_detail(
    closed_port: int, clock: ManualClock
) -> None:
    down = f"postgresql+asyncpg://klaxon@127.0.0.1:{closed_port}/klaxon"
    app = create_app(make_settings(down, db_connect_timeout=2), clock=clock)
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        result = await klaxon("incidents", "list", "--url", url, "--token", ADMIN_TOKEN)
    assert result.exit_code == 3, result.output
    assert result.stderr == (
        f"Klaxon at {url} is unavailable (503): database unavailable, retry later\n"
    )


async def test_a_url_that_is_not_klaxons_api_is_exit_3(served: Served) -> None:
    wrong = served.url + "/klaxon"
    result = await klaxon("incidents", "list", "--url", wrong, "--token", ADMIN_TOKEN)
    assert result.exit_code == 3, result.output
    assert result.stderr == (f"{wrong} has no /api/v1/incidents: is Klaxon listening there?\n")


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1", "http://", "http://h:99999"])
async def test_a_malformed_url_is_a_usage_error(url: str) -> None:
    result = await klaxon("incidents", "list", "--url", url, "--token", ADMIN_TOKEN)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"--url/KLAXON_URL {url!r} is not an http(s) URL like http://127.0.0.1:8080\n"
    )


async def test_the_url_flag_wins_over_klaxon_url(served: Served, closed_port: int) -> None:
    number = await reported(served)
    env = {"KLAXON_URL": f"http://127.0.0.1:{closed_port}", "KLAXON_TOKEN": ADMIN_TOKEN}
    assert (await klaxon("incidents", "list", env=env)).exit_code == 3
    result = await klaxon("incidents", "list", "--url", served.url, env=env)
    assert result.exit_code == 0, result.output
    assert shows(result.stdout, number)


async def test_without_a_url_klaxon_host_and_port_are_used(served: Served) -> None:
    number = await reported(served)
    port = served.url.rsplit(":", 1)[1]
    env = {"KLAXON_HOST": "127.0.0.1", "KLAXON_PORT": port, "KLAXON_TOKEN": ADMIN_TOKEN}
    result = await klaxon("incidents", "list", env=env)
    assert result.exit_code == 0, result.output
    assert shows(result.stdout, number)

    bad = await klaxon("incidents", "list", env={**env, "KLAXON_PORT": "eighty"})
    assert bad.exit_code == 2
    assert bad.stderr.startswith("KLAXON_PORT: Input should be a valid integer")


# --- which token --------------------------------------------------------------------


async def test_a_wrong_token_is_exit_1_and_says_so(served: Served) -> None:
    result = await klaxon("incidents", "list", "--url", served.url, "--token", "kx_nope")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Klaxon at {served.url} refused the token (invalid or revoked token):"
        " pass a valid one with --token or KLAXON_TOKEN\n"
    )


async def test_no_token_anywhere_is_a_usage_error(served: Served) -> None:
    result = await klaxon("incidents", "list", "--url", served.url)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("no API token: pass --token or set KLAXON_TOKEN")


async def test_token_precedence_flag_then_klaxon_token_then_admin_token_then_dev_file(
    served: Served,
) -> None:
    number = await reported(served)
    url = ["--url", served.url]

    async def works(*args: str, env: dict[str, str]) -> bool:
        result = await klaxon("incidents", "list", *url, *args, env=env)
        assert result.exit_code in (0, 1), result.output
        return result.exit_code == 0 and shows(result.stdout, number)

    assert await works("--token", ADMIN_TOKEN, env={"KLAXON_TOKEN": "kx_wrong"})
    assert not await works("--token", "kx_wrong", env={"KLAXON_TOKEN": ADMIN_TOKEN})
    assert await works(env={"KLAXON_TOKEN": ADMIN_TOKEN, "KLAXON_ADMIN_TOKEN": "kx_wrong"})
    assert not await works(env={"KLAXON_TOKEN": "kx_wrong", "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN})
    assert await works(env={"KLAXON_ADMIN_TOKEN": ADMIN_TOKEN})

    # What `klaxon serve --dev` wrote, in the working directory (a temporary one here).
    DEV_TOKEN_FILE.parent.mkdir()
    DEV_TOKEN_FILE.write_text(ADMIN_TOKEN + "\n")
    assert Path.cwd().joinpath(DEV_TOKEN_FILE).exists()
    assert await works(env={})
    assert not await works(env={"KLAXON_ADMIN_TOKEN": "kx_wrong"})
