"""The drill clock (several processes read one offset file), and the settings that
bound how long a send may hold its claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.clock import OffsetFileClock
from app.runtime import Runtime
from app.settings import Settings
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
