"""`klaxon serve` and `uvicorn app.asgi:app` refuse Twilio without a public URL;
`klaxon serve --dev` calls back to the address it serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.migrate import upgrade
from tests.conftest import ADMIN_TOKEN, RULES
from tests.fakes.twilio_server import free_port
from tests.services.klaxon import output_until_listening

BIN = Path(sys.executable).parent


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'klaxon.db'}"
    upgrade(url)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")},
        "KLAXON_DATABASE_URL": url,
        "KLAXON_CONFIG": str(RULES),
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_PORT": str(port),
        "KLAXON_ENGINE_ENABLED": "false",
        "KLAXON_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "KLAXON_TWILIO_AUTH_TOKEN": "twilio-token",
        **extra,
    }


def _run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_serve_with_twilio_and_no_public_url_refuses_in_one_line(tmp_path: Path) -> None:
    refused = _run([str(BIN / "klaxon"), "serve"], _env(tmp_path, free_port()))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("refusing to start: KLAXON_PUBLIC_URL is not set:"), line


def test_the_asgi_app_with_twilio_and_no_public_url_refuses_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    cmd = [str(BIN / "uvicorn"), "app.asgi:app", "--port", str(port)]
    refused = _run(cmd, _env(tmp_path, port))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("klaxon: refusing to start: KLAXON_PUBLIC_URL is not set:")
    ), refused.stderr


def test_serve_dev_calls_back_to_the_port_it_serves(tmp_path: Path) -> None:
    port = free_port()
    output = output_until_listening([str(BIN / "klaxon"), "serve", "--dev"], _env(tmp_path, port))
    assert f"Klaxon listening on http://127.0.0.1:{port}" in output, output
    assert f"Twilio calls back: http://127.0.0.1:{port} (--dev:" in output


def test_serve_with_a_public_url_names_it(tmp_path: Path) -> None:
    env = _env(tmp_path, free_port(), KLAXON_PUBLIC_URL="https://klaxon.example.com/")
    output = output_until_listening([str(BIN / "klaxon"), "serve"], env)
    assert "Twilio calls back: https://klaxon.example.com\n" in output, output
