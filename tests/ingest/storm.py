"""Storms: one Alertmanager notification carrying N new alerts.

``storm_payload(n)`` builds it; ``largest_storm(limit)`` is the N whose
compact JSON body is the largest that still fits ``limit`` bytes (the
webhook's body limit, 1 MiB by default). The bench uses both.
"""

from __future__ import annotations

from typing import Any

import orjson

STORM_START = "2026-11-26T11:00:00Z"


def storm_alerts(n: int, *, starts_at: str = STORM_START) -> list[dict[str, Any]]:
    """``n`` firing alerts, distinct by one short label, with the least an
    Alertmanager alert needs (no fingerprint: Klaxon hashes the labels)."""
    return [{"status": "firing", "labels": {"i": str(i)}, "startsAt": starts_at} for i in range(n)]


def storm_payload(n: int, *, starts_at: str = STORM_START) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "klaxon",
        "groupKey": '{}:{alertname="Storm"}',
        "alerts": storm_alerts(n, starts_at=starts_at),
    }


def storm_body(n: int, *, starts_at: str = STORM_START) -> bytes:
    return orjson.dumps(storm_payload(n, starts_at=starts_at))


def largest_storm(limit: int = 1024 * 1024, *, starts_at: str = STORM_START) -> int:
    """The most alerts a compact notification can carry within ``limit`` bytes."""
    low, high = 1, 1
    while len(storm_body(high, starts_at=starts_at)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        if len(storm_body(middle, starts_at=starts_at)) <= limit:
            low = middle
        else:
            high = middle
    return low
