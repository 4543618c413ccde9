"""Inbound rate limits: a token bucket per ingest token, in memory.

Each process keeps its own buckets, so every replica (and every uvicorn
worker) limits on its own: the limit a sender sees is the setting times the
number of processes behind the load balancer. A refused request is answered
so that the sender retries (503 with ``Retry-After`` for webhooks, 429 for the
PagerDuty-compatible API) and writes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

_MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: datetime


class IngestLimiter:
    """Buckets keyed by a digest of the token, filled at ``rate`` per second up
    to ``burst``. Time comes from the caller (the runtime's clock), so tests
    decide when it passes."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, *, rate: float, burst: int, now: datetime) -> int | None:
        """Take one token: None when allowed, else the whole seconds to wait.
        (No lock: nothing here awaits, and each process has its own.)"""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(rate, burst, now)
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        elapsed = max((now - bucket.at).total_seconds(), 0.0)
        bucket.tokens = min(float(burst), bucket.tokens + elapsed * rate)
        bucket.at = max(bucket.at, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def _forget_full(self, rate: float, burst: int, now: datetime) -> None:
        # A full bucket is the same as no bucket: drop those to bound memory.
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + max((now - bucket.at).total_seconds(), 0.0) * rate >= burst:
                del self._buckets[key]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()
