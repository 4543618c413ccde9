"""The commit boundary: one place that begins a transaction, commits it, and only
then tells the rest of the process.

A unit of work is a session inside one transaction. Whoever holds it writes
through ``uow.session`` and says what must happen once the writes are durable:
``uow.wake()`` wakes the worker (a step, a send or a deadline may now be due)
and tells the console's live pages that something changed; ``uow.after_commit``
takes any other hook (a publish to chat, a cache refresh). Hooks run after the
commit and only if it succeeded: a rolled-back transaction wakes nobody and
publishes nothing, so no listener ever reads a change that did not happen.

Two doors lead here:

- jobs (the worker's stages, the CLI) write ``async with unit_of_work(runtime)
  as uow:``, or ``async with writing(sessions) as session:`` when nothing is
  to be told after the commit (housekeeping, a queue's own bookkeeping);
- HTTP handlers take the ``Transaction`` dependency (``app/deps.py``). FastAPI
  leaves the dependency, and so commits, before the response is sent: a handler
  answers 2xx only once its writes are committed, and a commit that fails is
  the handler's error (a 503 when the database is unreachable), never a 2xx
  followed by a silent rollback. A handler that must keep one write whatever
  becomes of another (a chat command refused half-way still remembers nothing,
  but its answer to the user is queued) opens a ``unit_of_work`` per write and
  answers after the last.

A session without either door is read-only (``app.db.ReadOnlySession``, the
plain ``SessionDep`` of a handler): a write through it raises, so a handler
that forgot the ``Transaction`` dependency answers a 500 instead of a 2xx for
writes that nobody would have committed.

A hook that raises is logged and the others still run: the commit has happened
and the caller's answer must say so.

Where a request commits twice
-----------------------------
An alert delivery (``app.pipeline``) takes two transactions, on purpose. The
first counts its repeats, the common case of a delivery that only repeats
firing alerts: on PostgreSQL one statement in autocommit (``app.ingest.repeats``;
concurrent deliveries share that statement and its commit,
``app.ingest.repeat_batch``), on SQLite a unit of work of its own. Its row
locks then last one statement, not a whole delivery across the event loop's
turns, which is what lets a busy Alertmanager's resends through at the rate
they come. It writes only when *every* alert of the delivery repeats a firing
episode (all or nothing), and then the delivery has nothing else to write; any
other delivery it leaves untouched, whole, to the second transaction (dedupe,
grouping, paging), which counts that delivery's repeats itself. So either
transaction can be refused without leaving half a delivery behind, and a
retried delivery whose answer was lost counts its repeats again, which is
harmless. ``app.pipeline`` and ``app.ingest.repeats`` point here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.runtime import Runtime
from app.wakeups import WAKE

log = logging.getLogger(__name__)


@dataclass
class UnitOfWork:
    """One transaction's session and what to do once it is committed."""

    session: AsyncSession
    runtime: Runtime
    _hooks: list[Callable[[], None]] = field(default_factory=list)
    _discarded: bool = False
    _wakes: bool = False  # wake() was called
    _notified: bool = False  # the engine elsewhere was notified inside the transaction

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` once the transaction has committed (never if it rolls
        back). The same hook given twice runs once."""
        if hook not in self._hooks:
            self._hooks.append(hook)

    def wake(self) -> None:
        """After the commit, wake the worker (work may be due now) and the
        console's live pages (what people see changed). An engine in another
        process is notified by the transaction itself, just before it commits
        (PostgreSQL delivers a NOTIFY on commit): no round trip after it."""
        self._wakes = True
        self.after_commit(self._wake_all)

    def _wake_all(self) -> None:
        if not self._notified:
            self.runtime.wake()
        self.runtime.changes.publish()

    def discard(self) -> None:
        """Roll back instead of committing, and run no hook: a dry run, or an
        all-or-nothing write that found it could not be whole."""
        self._discarded = True

    def _committed(self) -> None:
        hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # the commit stands; one listener's failure is its own
                log.exception("after-commit hook %r failed", hook)


@contextlib.asynccontextmanager
async def unit_of_work(runtime: Runtime) -> AsyncIterator[UnitOfWork]:
    """Begin, yield the unit of work, commit, then run its after-commit hooks.

    An exception inside rolls everything back and runs no hook."""
    async with runtime.sessions() as session:
        uow = UnitOfWork(session=session, runtime=runtime)
        async with session.begin() as transaction:
            yield uow
            if uow._discarded:
                await transaction.rollback()
            elif uow._wakes and runtime.settings.engine_notify and not runtime.settings.is_sqlite:
                await session.execute(text(WAKE))
                uow._notified = True
    if not uow._discarded:
        uow._committed()


@contextlib.asynccontextmanager
async def writing(
    sessions: async_sessionmaker[AsyncSession], *, dry_run: bool = False
) -> AsyncIterator[AsyncSession]:
    """A job's transaction that tells nobody once committed (housekeeping, the
    timers that run inside the worker's own pass, the CLI): begin, yield the
    session, commit; an exception rolls it back, and so does the end of a
    ``dry_run``."""
    async with sessions() as session, session.begin() as transaction:
        yield session
        if dry_run:
            await transaction.rollback()
