"""The drill clock: several processes read one offset file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.clock import OffsetFileClock
from app.runtime import Runtime
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
