"""Instants a request may name: between 1970 and 3000 UTC.

Python's datetime ends at years 1 and 9999, so ``0001-01-01T00:00:00+14:00``
cannot even be turned into UTC, and ``9999-12-31T23:59:59Z`` overflows as soon
as a day or a shift is added to it (a 500, before this). No instant a paging
service acts on lies outside these bounds, and every computation on one
(a year ahead, a shift back) stays far from Python's edges. Use
:data:`Instant` (an offset is required) or :data:`LooseInstant` (no offset
means UTC) for every datetime a request carries.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
_RANGE = f"from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)"


def within_range(value: datetime) -> datetime:
    """``value`` if it lies in the range (a naive one read as UTC), else a
    ValueError that says the range."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the instant must lie {_RANGE}") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"the instant must lie {_RANGE}")
    return value


def not_a_number(value: object) -> object:
    """Refuse a number where an ISO 8601 date-time is documented (pydantic would
    read ``-9e-170`` or ``1700000000`` as seconds since 1970)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("an instant is an ISO 8601 date and time, not a number")
    if isinstance(value, str | bytes):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("an instant is an ISO 8601 date and time, not a number")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(not_a_number), AfterValidator(within_range)]
LooseInstant = Annotated[datetime, BeforeValidator(not_a_number), AfterValidator(within_range)]
