"""Waking an escalation engine that runs in another process (PostgreSQL only).

On PostgreSQL ``klaxon serve`` runs the engine (app/worker.py) in a process of
its own (``klaxon engine``), so that a page's thirty-odd round trips never wait
behind the web workers' requests on one event loop, and the web workers never
pause for the engine's passes (issue 13). The web workers then wake it through
the database: a unit of work that made work due (``uow.wake()``,
app/transaction.py) sends ``NOTIFY klaxon_wake`` just before it commits, which
PostgreSQL delivers with the commit (and never for a rollback); the engine's
:class:`WakeListener` turns each notification into ``worker.wake()``.
:class:`WakeSender` sends one for a wake-up asked for outside a transaction.
Rules reloaded in a web worker (SIGHUP, ``POST /-/reload``, a worker restarted
by SIGHUP) are announced the same way, on ``klaxon_reload``, and the engine
reloads the file too: it routes incidents to policies and reminds by severity.

A notification is a hint, never the record: the work is the committed rows,
which the engine's look (app/timers/due.py) finds within ``engine_poll_seconds``
whether or not a notification arrives. So a sender that cannot reach the
database logs and gives up, and a listener whose connection drops listens again
when it can; neither holds up a request or a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import driver_connection, reading

log = logging.getLogger(__name__)

#: The channels of PostgreSQL's LISTEN/NOTIFY: work is due; the rules were reloaded.
CHANNEL = "klaxon_wake"
RELOAD_CHANNEL = "klaxon_reload"
#: The statement that wakes engines: a transaction that runs it wakes them as it
#: commits (app/transaction.py), and not at all if it rolls back.
WAKE = f"NOTIFY {CHANNEL}"
#: Seconds between attempts to listen again after the connection was lost.
RELISTEN_SECONDS = 1.0


class WakeSender:
    """``runtime.wake`` of a process whose engine runs elsewhere: a NOTIFY after
    the commit, never more than one in flight. Wakes asked for while one is
    being sent are folded into one more, sent after it: the engine reads all
    that is due when it wakes, so one notification covers any number of commits."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._reloads: set[asyncio.Task[bool]] = set()
        self.sent = 0  # wake-ups sent, for tests and the curious

    def __call__(self) -> None:
        if self._task is not None:
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._send(), name="klaxon-wake")

    def reload(self) -> None:
        """The rules were reloaded here: tell the engine to reload them too."""
        task = asyncio.get_running_loop().create_task(self._notify(RELOAD_CHANNEL))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _notify(self, channel: str) -> bool:
        try:
            async with reading(self._engine) as conn:
                await conn.exec_driver_sql(f"NOTIFY {channel}")
        except Exception as exc:  # a hint: the engine's poll finds the work
            log.warning("could not notify the engine on %s (%s)", channel, type(exc).__name__)
            return False
        return True

    async def _send(self) -> None:
        try:
            while True:
                self._again = False
                if not await self._notify(CHANNEL):
                    return
                self.sent += 1
                if not self._again:
                    return
        finally:
            self._task = None

    async def aclose(self) -> None:
        """Let notifications under way go out (a commit just made work due)."""
        pending = [t for t in (self._task, *self._reloads) if t is not None]
        if pending:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), 5.0)


class WakeListener:
    """LISTEN on one connection of ``engine`` held for the purpose, calling
    ``wake`` on each wake-up and ``reload`` on each reload, until :meth:`aclose`.
    A lost connection is replaced after ``RELISTEN_SECONDS``; meanwhile the
    engine polls (and a reload announced meanwhile is missed: SIGHUP it)."""

    def __init__(
        self, engine: AsyncEngine, wake: Callable[[], None], reload: Callable[[], None]
    ) -> None:
        self._engine = engine
        self._wake = wake
        self._reload = reload
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while a LISTEN is in force

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="klaxon-wake-listener")

    def _notified(self, _conn: object, _pid: int, channel: str, _payload: object) -> None:
        if channel == RELOAD_CHANNEL:
            self._reload()
        else:
            self._wake()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
                log.warning("lost the connection that listens for wake-ups; the engine polls")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot listen for wake-ups (%s); the engine polls", type(exc).__name__)
            await asyncio.sleep(RELISTEN_SECONDS)

    async def _listen_once(self) -> None:
        """LISTEN on one connection until it is lost."""
        lost = asyncio.Event()
        async with self._engine.connect() as conn:
            raw = await driver_connection(conn)
            raw.add_termination_listener(lambda _c: lost.set())
            await raw.add_listener(CHANNEL, self._notified)
            await raw.add_listener(RELOAD_CHANNEL, self._notified)
            self.listening.set()
            # Work committed before the LISTEN took effect woke nobody.
            self._wake()
            try:
                await lost.wait()
            finally:
                self.listening.clear()
                if not raw.is_closed():
                    with contextlib.suppress(Exception):
                        await raw.remove_listener(CHANNEL, self._notified)
                        await raw.remove_listener(RELOAD_CHANNEL, self._notified)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
