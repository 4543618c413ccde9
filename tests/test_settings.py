"""The drill clock (several processes read one offset file), the settings that
bound how long a send may hold its claim, and the public URL Twilio calls back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.clock import OffsetFileClock
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings, StartupRefused
from tests.conftest import make_settings


def test_offset_file_clock_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "offset"
    clock = OffsetFileClock(path)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    path.write_text("3600\n")
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(minutes=59) < ahead < timedelta(minutes=61)
    path.write_text("7200.5")
    ahead = clock.now() - datetime.now(UTC)
    assert timedelta(minutes=119) < ahead < timedelta(minutes=121)
    path.unlink()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


async def test_runtime_uses_the_offset_file_when_set(tmp_path: Path) -> None:
    path = tmp_path / "offset"
    path.write_text("86400")
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/k.db", clock_offset_file=path)
    runtime = Runtime.create(settings)
    try:
        assert isinstance(runtime.clock, OffsetFileClock)
        assert runtime.clock.now() - datetime.now(UTC) > timedelta(hours=23)
    finally:
        await runtime.aclose()


def test_a_send_lease_shorter_than_a_send_is_refused() -> None:
    """Sends start only while their claim has room for Twilio's timeout and a
    commit; a lease shorter than that would never send anything."""
    with pytest.raises(ValidationError) as refused:
        Settings(send_lease_seconds=15, twilio_timeout=10, db_connect_timeout=5)
    assert "KLAXON_SEND_LEASE_SECONDS (15) must be longer than" in str(refused.value)
    assert Settings(send_lease_seconds=16, twilio_timeout=10, db_connect_timeout=5)


TWILIO = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "token"}


def test_twilio_without_a_public_url_refuses_to_create_the_app(tmp_path: Path) -> None:
    """Its callbacks (keys pressed, replies, delivery) would go to a made-up
    address: refused before anything starts, naming the setting."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/k.db", **TWILIO)
    with pytest.raises(StartupRefused) as refused:
        create_app(settings)
    assert str(refused.value).startswith("KLAXON_PUBLIC_URL is not set: Twilio is configured")
    assert "\n" not in str(refused.value)
    with pytest.raises(StartupRefused):
        create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/k.db", public_url=" ", **TWILIO))
    assert create_app(settings.model_copy(update={"public_url": "https://klaxon.example.com"}))


def test_a_blank_public_url_is_unset() -> None:
    assert Settings(public_url="  ").public_url is None
    assert Settings(public_url=" https://k.example/ ").callback_url == "https://k.example"


@pytest.mark.parametrize(
    ("host", "port", "callback_url"),
    [
        ("127.0.0.1", 9123, "http://127.0.0.1:9123"),
        ("0.0.0.0", 8443, "http://127.0.0.1:8443"),
        ("::1", 9000, "http://[::1]:9000"),
    ],
)
def test_without_twilio_callbacks_follow_the_address_served(
    host: str, port: int, callback_url: str
) -> None:
    """Logged pages and `klaxon reply` sign for the port served, never a default 8080."""
    assert Settings(host=host, port=port).callback_url == callback_url
