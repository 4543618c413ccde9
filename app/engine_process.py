"""The escalation engine's process, and what a web worker builds the same way.

``klaxon engine`` runs :class:`EngineProcess` (``klaxon serve`` starts it beside
its web workers on PostgreSQL, app/cli/local.py): the runtime, the worker and
its outbound handlers, rules reloads, and the LISTEN that wakes it
(app/wakeups.py), and nothing of the HTTP side, whose routes and models would
cost it ~25 MB of memory for nothing. ``create_app`` (app/main.py) builds its
runtime and worker with the same function, and starts and stops them with the
same :class:`ProcessLifetime`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from app import ops
from app.automation.send import action_handler, webhook_handler
from app.chat import cards as chat_cards
from app.chat.mattermost import mattermost_handler
from app.chat.slack import slack_handler
from app.clock import Clock
from app.errors import KlaxonError
from app.metrics import forget_this_process
from app.notify.outbound import Handler
from app.notify.sender import make_sender
from app.rules import RulesError
from app.runtime import Runtime
from app.settings import Settings
from app.statuspage.deliver import status_webhook_handler
from app.wakeups import WakeListener, WakeSender
from app.worker import Worker

log = logging.getLogger(__name__)


async def _reload_logged(runtime: Runtime) -> None:
    try:
        await ops.reload_checked(runtime)
    except KlaxonError:
        pass  # logged; the old rules stay
    except Exception:
        log.exception("rules reload failed, keeping the old rules")


class _Reloads:
    """Rules reloads as tasks (the check asks the database), called for by
    SIGHUP or, in the engine process, by a web worker's announcement; the
    tasks under way, for the process to finish at shutdown."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pending: set[asyncio.Task[None]] = set()

    def __call__(self) -> None:
        task = asyncio.create_task(_reload_logged(self.runtime), name="klaxon-rules-reload")
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def aclose(self) -> None:
        for task in list(self.pending):
            task.cancel()
        await asyncio.gather(*self.pending, return_exceptions=True)


def _install_sighup(runtime: Runtime) -> _Reloads:
    """Reload on SIGHUP."""
    reloads = _Reloads(runtime)
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reloads)
    return reloads


async def _warn_unknown_policies(runtime: Runtime) -> None:
    """At start, routes naming a policy that does not exist are logged, not refused:
    a pager that does not start pages nobody, while the engine pages such
    incidents through ``default`` and says so on their timelines."""
    try:
        problems = await ops.unknown_route_policies(runtime, runtime.rules.current)
    except Exception as exc:
        log.warning("escalation policies not checked at start: %s", type(exc).__name__)
        return
    if problems:
        log.error(
            "the rules name escalation policies that do not exist; their incidents page"
            " through 'default' (if it exists) until they do:\n%s",
            "\n".join(problems),
        )


def outbound_handlers(runtime: Runtime) -> dict[str, Handler]:
    """The senders of outgoing chat posts, webhooks and actions, by kind
    (app/notify/outbound.py): one line each, for what the settings enable."""
    handlers: dict[str, Handler] = {}
    if runtime.settings.slack_bot_token:
        handlers["slack"] = slack_handler(runtime.sessions, runtime.settings)
    handlers["action"] = action_handler(runtime.settings)  # app/automation, unsigned: refused
    handlers["webhook"] = webhook_handler(runtime.settings)
    handlers["status_webhook"] = status_webhook_handler(runtime)  # app/statuspage/deliver.py
    if runtime.settings.mattermost_cards_enabled:
        handlers["mattermost"] = mattermost_handler(runtime.sessions, runtime.settings)
    return handlers


def runtime_and_worker(settings: Settings, clock: Clock | None) -> tuple[Runtime, Worker]:
    """The runtime and its durable timers (app/worker.py), as a web worker and
    the engine process both build them; the runtime wakes the worker by a
    callable only, so that nothing low imports it."""
    runtime = Runtime.create(settings, clock)
    chat_cards.install(runtime.sessions, settings)  # cards follow every timeline change
    worker = Worker(runtime, make_sender(settings), outbound=outbound_handlers(runtime))
    runtime.wake = worker.wake
    return runtime, worker


class ProcessLifetime:
    """What a process that holds a runtime and its worker does as it starts and
    as it stops, a web worker (``create_app``'s lifespan) and the engine's
    process alike: rules reloads on SIGHUP, the check of the routes' policies,
    the engine's loop where this process runs it, and the collector's freeze;
    at stop the same undone, each part before what it calls (the listener
    calls for reloads and wake-ups, a reload announces itself by the sender),
    then the runtime's connections and this process's metrics."""

    def __init__(
        self,
        runtime: Runtime,
        worker: Worker,
        *,
        listener: WakeListener | None = None,
        sender: WakeSender | None = None,
    ) -> None:
        self.runtime = runtime
        self.worker = worker
        self.listener = listener  # wakes the worker, from another process's commits
        self.sender = sender  # wakes an engine in another process
        self.reloads: _Reloads | None = None

    async def start(self, *, engine: bool, warn: bool) -> None:
        """``engine``: this process runs the engine's loop; ``warn``: it logs the
        routes that name a missing policy (once per server: the engine's process
        where there is one)."""
        self.reloads = _install_sighup(self.runtime)
        if warn:
            await _warn_unknown_policies(self.runtime)
        if self.listener is not None:
            self.listener.start()
        if engine:
            self.worker.start()
        # What exists by now lives as long as the process (modules, routes,
        # models, rules): kept out of the collector's full passes, which
        # otherwise walk it all (~220,000 objects in a web worker, ~140 ms)
        # every so often in the middle of a request (the console's p99 at
        # 100,000 incidents, issue 15) or of a page. Thawed at stop.
        gc.freeze()

    async def stop(self) -> None:
        gc.unfreeze()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self.listener is not None:
            await self.listener.aclose()
        if self.reloads is not None:
            await self.reloads.aclose()
        await self.worker.stop()
        if self.sender is not None:
            await self.sender.aclose()
        await self.runtime.aclose()
        forget_this_process()


class EngineProcess:
    """The escalation engine alone, serving no HTTP: what ``klaxon engine``
    runs, and ``klaxon serve`` beside its web workers on PostgreSQL. Web
    workers wake it and announce reloaded rules by NOTIFY (app/wakeups.py); it
    looks for due work every ``engine_poll_seconds`` all the same."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.runtime, self.worker = runtime_and_worker(settings, clock)
        self.listener: WakeListener | None = None
        if not settings.is_sqlite:
            self.listener = WakeListener(self.runtime.engine, self.worker.wake, self._announced)
        self.lifetime = ProcessLifetime(self.runtime, self.worker, listener=self.listener)

    async def start(self) -> None:
        await self.lifetime.start(engine=True, warn=True)
        log.info("escalation engine running (%s)", self.worker.owner)

    def _announced(self) -> None:
        """A web worker put the rules file in force (reloaded, or started and
        read it): reload it here too, unless it says what is in force here."""
        with contextlib.suppress(RulesError):  # the reload says why, below
            if self.runtime.rules.read() == self.runtime.rules.current:
                return
        if self.lifetime.reloads is not None:
            self.lifetime.reloads()

    async def stop(self) -> None:
        await self.lifetime.stop()


async def run_engine(settings: Settings) -> None:
    """An :class:`EngineProcess` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    engine = EngineProcess(settings)
    try:
        await engine.start()
        await stop.wait()
    finally:
        await engine.stop()
