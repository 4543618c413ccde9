"""The status page's cache: the summary is read from the database once per
change and every page, JSON document and feed is served from memory.

A snapshot is good until the next publication or public update
(:meth:`StatusCache.invalidate`, called after their commit), a reload of the
rules, or ``KLAXON_STATUS_CACHE_SECONDS`` (so that replicas, which do not hear
each other's invalidations, and the day's history bar, follow within that).
Each snapshot renders each document once, with its ETag.

While the database is unreachable the page keeps serving the last good
snapshot, marked stale (a banner on the page, ``X-Status-Stale: 1`` on every
answer). One refresh runs at a time, and the requests that need it wait for it at
most ``KLAXON_STATUS_REFRESH_TIMEOUT`` seconds, without cancelling it (a read
stuck on a frozen database is left to the database timeouts). After a refresh
fails or is slow, the next is tried no sooner than ``RETRY_SECONDS`` later, and
meanwhile every request is answered at once from the last good snapshot: a
stopped or frozen database costs the page a slow answer now and then, no more.
Only a process that never read the page since it started answers 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from fastapi import Request

from app.db import is_unavailable
from app.errors import Unavailable
from app.rules.status_page import StatusPageConfig
from app.runtime import Runtime
from app.statuspage.maintenances import maintenance_views
from app.statuspage.summary import Summary, build_summary

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str
    media_type: str


@dataclass
class Snapshot:
    summary: Summary
    stale: bool = False
    _rendered: dict[str, Rendered] = field(default_factory=dict)

    def render(self, kind: str, media_type: str, make: Callable[[Snapshot], bytes]) -> Rendered:
        """``kind`` rendered by ``make``, once per snapshot."""
        done = self._rendered.get(kind)
        if done is None:
            body = make(self)
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            done = self._rendered[kind] = Rendered(body, etag, media_type)
        return done


class StatusCache:
    def __init__(self, *, max_age: float, refresh_timeout: float) -> None:
        self.max_age = max_age
        self.refresh_timeout = refresh_timeout
        self.retry_seconds = RETRY_SECONDS
        self.generation = 0
        self.refreshes = 0  # reads of the database, for tests and curiosity
        self.first_seen: dict[str, datetime] = {}
        self._good: Snapshot | None = None
        self._good_generation = -1
        self._good_page: StatusPageConfig | None = None  # the rules block it was read with
        self._good_at = 0.0
        self._stale: Snapshot | None = None
        self._failed_at: float | None = None
        self._task: asyncio.Task[Snapshot | None] | None = None

    def invalidate(self) -> None:
        """After a commit that changed what the page shows."""
        self.generation += 1

    def _fresh(self, page: StatusPageConfig) -> Snapshot | None:
        good = self._good
        if good is None or self._good_generation != self.generation or self._good_page is not page:
            return None
        return good if time.monotonic() - self._good_at < self.max_age else None

    def fresh(self, runtime: Runtime) -> Snapshot | None:
        """The snapshot to serve without waiting for anything, or None when a
        refresh is due (then :meth:`get` decides)."""
        return self._fresh(runtime.rules.current.status_page)

    def _fallback(self) -> Snapshot:
        """The last good snapshot, marked stale; a 503 without one."""
        if self._good is None:
            raise Unavailable("the status page is unavailable: its database cannot be reached")
        if self._stale is None or self._stale.summary is not self._good.summary:
            self._stale = Snapshot(self._good.summary, stale=True)
        return self._stale

    def _failed_recently(self) -> bool:
        return (
            self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_seconds
        )

    async def get(self, runtime: Runtime) -> Snapshot:
        page = runtime.rules.current.status_page
        fresh = self._fresh(page)
        if fresh is not None:
            return fresh
        # Twice at most: a refresh that began before the latest invalidation is
        # waited out, then one more reads what the invalidating commit wrote.
        for attempt in range(2):
            if self._failed_recently():
                return self._fallback()
            task = self._task
            if task is None or task.done():
                task = self._task = asyncio.create_task(
                    self._refresh(runtime, page, self.generation), name="klaxon-status-refresh"
                )
            # Every request waits for the one refresh under way, none cancels it:
            # a read stuck on a frozen database is left to its own timeouts while
            # the page answers from what it has.
            done, _ = await asyncio.wait({task}, timeout=self.refresh_timeout)
            if not done:
                self._failed_at = time.monotonic()
                log.warning("status page: the database did not answer in %gs", self.refresh_timeout)
                return self._fallback()
            snapshot = task.result()
            if snapshot is None:
                return self._fallback()
            if self._fresh(page) is snapshot or attempt == 1:
                return snapshot
        raise AssertionError("unreachable: the second attempt returns")

    async def _refresh(
        self, runtime: Runtime, page: StatusPageConfig, generation: int
    ) -> Snapshot | None:
        self.refreshes += 1
        try:
            summary = await self._read(runtime, page)
        except Exception as exc:
            self._failed_at = time.monotonic()
            if is_unavailable(exc):
                log.warning("status page: database unreachable (%s)", type(exc).__name__)
            else:
                log.exception("status page: reading the summary failed")
            return None
        self._failed_at = None
        self._good = Snapshot(summary)
        self._good_generation, self._good_page = generation, page
        self._good_at = time.monotonic()
        return self._good

    async def _read(self, runtime: Runtime, page: StatusPageConfig) -> Summary:
        now = runtime.clock.now()
        async with runtime.sessions() as session:
            summary = await build_summary(session, page, now=now, first_seen=self.first_seen)
            # Scheduled maintenance, from the public maintenance windows.
            planned = await maintenance_views(session, page, now=now)
        updated = max([summary.updated_at, *(m.updated_at for m in planned)])
        return replace(summary, maintenances=planned, updated_at=updated)


async def cache_dependency(request: Request) -> StatusCache:
    """:func:`status_cache` for ``Depends``: a coroutine, which FastAPI runs
    inline (a plain function would cost a hop to its thread pool)."""
    return status_cache(request)


def status_cache(request: Request) -> StatusCache:
    """The application's cache, made on first use."""
    cache: StatusCache | None = getattr(request.app.state, "status_cache", None)
    if cache is None:
        settings = request.app.state.runtime.settings
        cache = StatusCache(
            max_age=settings.status_cache_seconds,
            refresh_timeout=settings.status_refresh_timeout,
        )
        request.app.state.status_cache = cache
    return cache
