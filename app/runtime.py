"""What a running Klaxon holds: settings, database, rules, clock, tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth import TokenVerifier
from app.clock import Clock, OffsetFileClock, SystemClock
from app.db import make_engine, make_sessionmaker
from app.live import Changes
from app.ratelimit import IngestLimiter
from app.rules.holder import RulesHolder
from app.settings import Settings


def _no_worker() -> None:
    """The wake-up before a worker is started (or where none runs)."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    rules: RulesHolder
    tokens: TokenVerifier
    clock: Clock = field(default_factory=SystemClock)
    #: Wakes the worker (app/worker.py); set by ``app.main`` when it creates the
    #: worker, so that the runtime (low) never imports it (high).
    wake: Callable[[], None] = _no_worker
    #: Called after this process put reloaded rules in force: tells an engine
    #: in another process to reload them too (app/wakeups.py).
    reloaded: Callable[[], None] = _no_worker
    ingest_limits: IngestLimiter = field(default_factory=IngestLimiter)
    #: Published after each commit that changed an incident: the console's live pages.
    changes: Changes = field(default_factory=Changes)

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        engine = make_engine(settings)
        if clock is None and settings.clock_offset_file is not None:
            clock = OffsetFileClock(settings.clock_offset_file)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            rules=RulesHolder(settings.config),
            tokens=TokenVerifier(settings.admin_token, settings.token_cache_seconds),
            clock=clock or SystemClock(),
        )

    async def aclose(self) -> None:
        await self.engine.dispose()
