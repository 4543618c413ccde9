"""Lengths of time, read and written: the one place for their syntax and forms.

Read: ``1w2d3h4m5s``-style lengths, each unit optional but in this order
(:func:`pattern`, :func:`parse_seconds`): shifts take ``wdhm``, heartbeat
intervals ``wdhms``.

Written, in the form each reader expects (they differ on purpose):

* :func:`compact` ``1m30s`` — as heartbeats are declared (alert texts);
* :func:`in_words` ``2 days 3 hours`` — on-call fatigue warnings;
* :func:`age` ``3h05m`` — the two largest units, for the ``klaxon`` command's tables;
* :func:`human` ``52s``, ``4m 10s``, ``1h 02m`` — response times in reports and
  post-mortems: to the second under an hour, the two largest units above.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta

UNIT_SECONDS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}


@functools.cache
def pattern(units: str) -> re.Pattern[str]:
    """``units`` (some of ``wdhms``, in that order), each an optional ``<digits><unit>``:
    one group per unit. It also matches the empty string; callers refuse that."""
    return re.compile("^" + "".join(rf"(?:(\d+){unit})?" for unit in units) + "$")


def parse_seconds(text: str, units: str = "wdhms") -> int | None:
    """Seconds in ``text`` (like ``1h30m``), or None if it is empty or not such a length."""
    found = pattern(units).match(text)
    if not text or found is None:
        return None
    return sum(int(g) * UNIT_SECONDS[u] for g, u in zip(found.groups(), units, strict=True) if g)


def compact(seconds: int) -> str:
    """``90`` → ``"1m30s"``, as heartbeats are declared."""
    parts = []
    for unit, name in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        count, seconds = divmod(seconds, unit)
        if count:
            parts.append(f"{count}{name}")
    return "".join(parts) or "0s"


def in_words(d: timedelta) -> str:
    """``2 days 3 hours``: whole minutes, zero units left out; ``0 minutes`` for none."""
    minutes = int(d.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " ".join(parts) or "0 minutes"


def _units(seconds: int) -> tuple[int, int, int, int]:
    """Days, hours, minutes and seconds in ``seconds`` (negative is 0)."""
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return days, hours, minutes, secs


def age(seconds: int) -> str:
    """In its two largest units: ``45s``, ``12m``, ``3h05m``, ``2d04h`` (negative is 0)."""
    days, hours, minutes, secs = _units(seconds)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def human(seconds: float) -> str:
    """``52s``, ``4m 10s``, ``1h 02m``, ``2d 03h``: the two largest units, to the
    second under an hour (a fraction rounds to the nearest second; negative is 0)."""
    days, hours, minutes, secs = _units(round(seconds))
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
