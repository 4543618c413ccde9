"""What a running Klaxon holds: settings, database, rules, clock, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth import TokenVerifier
from app.clock import Clock, OffsetFileClock, SystemClock
from app.db import make_engine, make_sessionmaker
from app.ratelimit import IngestLimiter
from app.rules.holder import RulesHolder
from app.settings import Settings

if TYPE_CHECKING:
    from app.escalation.engine import Engine


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    rules: RulesHolder
    tokens: TokenVerifier
    clock: Clock = field(default_factory=SystemClock)
    engine_ref: Engine | None = None
    ingest_limits: IngestLimiter = field(default_factory=IngestLimiter)

    @property
    def escalation(self) -> Engine:
        assert self.engine_ref is not None, "the escalation engine is not set up"
        return self.engine_ref

    def wake_engine(self) -> None:
        """After a commit that made work due now."""
        if self.engine_ref is not None:
            self.engine_ref.wake()

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
        if self.engine_ref is not None:
            await self.engine_ref.stop()
        await self.engine.dispose()
