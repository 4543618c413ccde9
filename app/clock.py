"""Time as a dependency: the service reads the wall clock, tests advance their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: tests advance it instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class OffsetFileClock:
    """The wall clock plus an offset in seconds read from a file, for drills in
    which several Klaxon processes must see time jump together (``KLAXON_CLOCK_OFFSET_FILE``).
    The file is re-read when it changes; a missing or empty file means no offset."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: tuple[int, int] | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._stamp, self._offset = None, timedelta(0)
        else:
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                text = self._path.read_text().strip()
                self._offset = timedelta(seconds=float(text or 0))
                self._stamp = stamp
        return datetime.now(UTC) + self._offset
