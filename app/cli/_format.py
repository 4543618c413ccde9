"""Text output for people: tables, ages, times and masked phone numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from app import durations, phones


def parse_time(value: str) -> datetime:
    """An API timestamp (ISO 8601 with its offset) as an aware datetime."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def utc(value: str | None) -> str:
    """``2026-11-26 12:00 UTC`` for an API timestamp; ``-`` for none."""
    if not value:
        return "-"
    return f"{parse_time(value).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def utc_seconds(value: str | None) -> str:
    """``2026-11-26 12:00:05 UTC``: to the second, as the timeline keeps time."""
    if not value:
        return "-"
    return f"{parse_time(value).astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def age(since: str, now: datetime) -> str:
    """How long ago, in its two largest units: ``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    return durations.age(int((now - parse_time(since)).total_seconds()))


def mask_phone(number: str | None) -> str:
    """Every digit but the last 4 hidden (``app.phones``); ``-`` for none."""
    return phones.mask_phone(number) if number else "-"


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
