"""Commands that run Klaxon or work on its files and database directly:
``serve``, ``migrate``, ``check-config`` and ``apply``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli._common import (
    EXIT_REFUSED,
    dev_admin_token,
    dev_token_file,
    fail,
    read_dev_admin_token,
)
from app.cli._database import database_errors
from app.clock import SystemClock
from app.settings import Settings, StartupRefused, get_settings

if TYPE_CHECKING:
    from app.apply.config import OnCallConfig
    from app.apply.document import ItemChange
    from app.rules import RulesFile

# Klaxon's own modules are imported by the commands that use them, so that the
# commands that only talk to the API start quickly.

#: Who the overrides that ``klaxon apply`` writes are recorded as made by.
APPLY_ACTOR = "klaxon apply"


async def _stored_policy_names(settings: Settings) -> set[str]:
    from app.db import make_engine, make_sessionmaker
    from app.escalation import store as policy_store

    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            return await policy_store.policy_names(session)
    finally:
        await engine.dispose()


def check_config(
    path: Annotated[Path, typer.Argument(help="Rules file to validate")],
    oncall: Annotated[
        Path | None,
        typer.Option(
            "--oncall",
            help="On-call file whose escalation policies the routes may name (as applied)",
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="KLAXON_DATABASE_URL",
            help="Check the routes' policies against this database's",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validate a rules file; print each error with its line.

    With --oncall FILE or --database-url (or KLAXON_DATABASE_URL), every policy a
    route names must exist in the file or the database; without either, the
    policies are not checked and a warning says so."""
    from app.apply import config as oncall_schemas
    from app.rules import RulesError, load_rules
    from app.rules.policies import unknown_policies

    try:
        rules = load_rules(path)
    except RulesError as exc:
        fail("\n".join(exc.errors), EXIT_REFUSED)
    known: set[str] = set()
    if oncall is not None:
        try:
            known |= {p.name for p in oncall_schemas.load_config(oncall).policies}
        except oncall_schemas.ConfigError as exc:
            fail("\n".join(exc.errors))
    if database_url is not None:
        settings = get_settings().model_copy(update={"database_url": database_url})
        with database_errors(settings, "; the policies were not checked"):
            known |= asyncio.run(_stored_policy_names(settings))
    if oncall is not None or database_url is not None:
        problems = unknown_policies(rules, known)
        if problems:
            fail("\n".join(problems), EXIT_REFUSED)
    else:
        typer.echo(
            "warning: escalation policies were not checked: routes may name policies that"
            " do not exist (give --oncall FILE or --database-url)",
            err=True,
        )
    typer.echo(
        f"{path}: OK ({len(rules.severity_rules)} severity rules, {len(rules.routes)} routes)"
    )


def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from app.migrate import upgrade

    settings = get_settings()
    with database_errors(settings, "; the schema was not changed"):
        upgrade(settings.database_url)
    typer.echo("database schema is up to date")


@contextlib.contextmanager
def _shared_metrics_dir() -> Iterator[None]:
    """A fresh directory where the workers keep their metrics (app.metrics), named
    in the environment before they start, removed when the server stops: values
    left from an earlier run would be counted again."""
    # Not from app.metrics: importing prometheus-client before this is set
    # would leave this process (a single web worker) out of the directory.
    from app.settings import MULTIPROC_DIR_ENV

    path = tempfile.mkdtemp(prefix="klaxon-metrics-")
    os.environ[MULTIPROC_DIR_ENV] = path
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR_ENV]
        shutil.rmtree(path, ignore_errors=True)


def serve(
    dev: Annotated[
        bool,
        typer.Option(
            help="Generate an admin token if none is set; without KLAXON_PUBLIC_URL,"
            " Twilio calls back to the address served"
        ),
    ] = False,
) -> None:
    """Serve the API and webhooks."""

    from app.rules import RulesError, load_rules

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.admin_token is None and dev:
        settings = settings.model_copy(update={"admin_token": dev_admin_token()})
    if dev:
        # The console's cookies without Secure, for http://localhost (app/console/web.py).
        settings = settings.model_copy(update={"console_dev": True})
    derived_public_url = dev and settings.public_url is None
    if derived_public_url:
        # Development only: Twilio (or a fake of it) calls back where this serves.
        settings = settings.model_copy(update={"public_url": settings.served_url})
    try:
        settings.check_serving()
    except StartupRefused as exc:
        fail(f"refusing to start: {exc}")
    try:
        load_rules(settings.config)
    except RulesError as exc:
        fail("refusing to start, the rules file is invalid:\n" + str(exc))
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"Klaxon listening on {url}")
    typer.echo(f"  rules:    {settings.config}")
    typer.echo(f"  database: {settings.database_url.split('@')[-1]}")
    if settings.twilio_configured or derived_public_url:
        how = " (--dev: the address served, as KLAXON_PUBLIC_URL is unset)"
        typer.echo(
            f"  Twilio calls back: {settings.callback_url}{how if derived_public_url else ''}"
        )
    if settings.admin_token and dev:
        typer.echo(f"  admin token: {settings.admin_token}")
        if settings.admin_token == read_dev_admin_token():
            typer.echo(f"  kept in:  {dev_token_file()} (KLAXON_HOME)")
    elif settings.admin_token:
        # Outside development stdout is a log, and logs hold no secrets.
        typer.echo("  admin token: set (KLAXON_ADMIN_TOKEN), not shown")
    typer.echo(f"  Alertmanager webhook: {url}/api/v1/webhooks/alertmanager")
    # On PostgreSQL the escalation engine runs in a process of its own, woken by
    # NOTIFY (app/wakeups.py): a page never queues behind the web workers' requests.
    separate = settings.engine_enabled and settings.engine_process and not settings.is_sqlite
    if separate:
        typer.echo("  escalation engine: a process of its own (klaxon engine)")
    sys.stdout.flush()
    if not separate:
        _serve(settings, separate=False)
        return
    # uvicorn, stopped by SIGTERM or SIGINT, raises the signal again once it has
    # shut down, for the exit status: caught here as an exception, so that the
    # engine is stopped (its work in hand finished) before this process exits.
    previous = {signum: signal.signal(signum, _stop_signal) for signum in _STOP_SIGNALS}
    try:
        _serve(settings, separate=True)
    except _StopSignal as stop:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        signal.raise_signal(stop.signum)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _StopSignal(BaseException):
    """SIGTERM or SIGINT, as an exception that nothing on its way catches."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_signal(signum: int, _frame: object) -> None:
    raise _StopSignal(signum)


def _serve(settings: Settings, *, separate: bool) -> None:
    """uvicorn, and with ``separate`` the engine's process beside it."""
    import uvicorn

    with contextlib.ExitStack() as stack:
        if settings.workers > 1 or separate:
            # Before Klaxon's modules (prometheus-client) are imported here.
            stack.enter_context(_shared_metrics_dir())
            # Other processes import the app themselves and read the same
            # environment; pass on what was generated here.
            if settings.admin_token:
                os.environ["KLAXON_ADMIN_TOKEN"] = settings.admin_token
            if settings.public_url:
                os.environ["KLAXON_PUBLIC_URL"] = settings.public_url
            if settings.console_dev:
                os.environ["KLAXON_CONSOLE_DEV"] = "true"
        if separate:
            stack.enter_context(_engine_process())
            os.environ["KLAXON_ENGINE_ENABLED"] = "false"
            os.environ["KLAXON_ENGINE_NOTIFY"] = "true"
            settings = settings.model_copy(update={"engine_enabled": False, "engine_notify": True})
        if settings.workers > 1:
            uvicorn.run(
                "app.asgi:app",
                host=settings.host,
                port=settings.port,
                workers=settings.workers,
                log_level=settings.log_level,
                access_log=False,
            )
            return
        from app.main import create_app

        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            access_log=False,
        )


#: Seconds before an engine process that ended unasked for is started again.
ENGINE_RESTART_SECONDS = 1.0


@contextlib.contextmanager
def _engine_process() -> Iterator[None]:
    """``klaxon engine`` as a child of ``klaxon serve``, for as long as it serves:
    started again if it ends unasked for (no engine, no pages), stopped with
    SIGTERM (the engine finishes the work in hand) when the server stops. The
    child also gets SIGTERM if this process dies without stopping it."""
    stopping = threading.Event()
    lock = threading.Lock()  # no restart once stopping is set
    child: list[subprocess.Popen[bytes]] = []

    # The environment as it is now, for every start: serve goes on to set its
    # web workers' (no engine of their own), which is not the engine's.
    env = {**os.environ, PARENT_ENV: str(os.getpid())}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "engine"], env=env
        )

    def watch() -> None:
        while not stopping.is_set():
            code = child[0].wait()
            if stopping.is_set():
                return
            logging.getLogger("klaxon.serve").error(
                "the escalation engine ended (exit %s); starting it again", code
            )
            if stopping.wait(ENGINE_RESTART_SECONDS):
                return
            with lock:
                if stopping.is_set():
                    return
                child[0] = start()

    child.append(start())
    watcher = threading.Thread(target=watch, name="klaxon-engine-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            stopping.set()
        proc = child[0]  # the last one: none is started after this
        proc.terminate()
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        watcher.join(STOP_SECONDS)


#: How long the engine process gets to finish its work in hand once told to stop.
STOP_SECONDS = 10.0


#: Set by ``klaxon serve`` for its engine process: the pid whose death ends it.
PARENT_ENV = "KLAXON_ENGINE_PARENT_PID"


def _die_with_parent() -> None:
    """In an engine started by ``klaxon serve``: SIGTERM when ``klaxon serve``
    dies, even killed (Linux), rather than an engine left behind alone."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the line above took effect
        fail("klaxon serve, which started this engine, has gone")


def engine() -> None:
    """Run the escalation engine alone: due steps, pages, calls, reminders and the
    other timers, no HTTP. ``klaxon serve`` starts one itself on PostgreSQL; run
    this where the web workers run with KLAXON_ENGINE_PROCESS=false and
    KLAXON_ENGINE_ENABLED=false, or as more engines beside them."""
    import uvloop

    from app.engine_process import run_engine

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings.check_serving()
    except StartupRefused as exc:
        fail(f"refusing to start: {exc}")
    _die_with_parent()
    # uvloop, as uvicorn picks for the web workers: each of a page's round
    # trips to the database costs less of the engine's time.
    uvloop.run(run_engine(settings))


def _rules_in_force(settings: Settings) -> RulesFile | None:
    """The rules file of the settings, whose routes' policies --prune keeps; None
    (with a warning) if it cannot be read."""
    from app.rules import RulesError, load_rules

    try:
        return load_rules(settings.config)
    except RulesError as exc:
        typer.echo(
            f"warning: the rules file could not be read ({exc.errors[0]}): --prune does not"
            " know which policies the routes name",
            err=True,
        )
        return None


async def _apply_oncall(
    settings: Settings, config: OnCallConfig, *, dry_run: bool, prune: bool
) -> tuple[list[ItemChange], list[str]]:
    """Apply in one transaction (rolled back for a dry run); the changes and the
    7-day warnings of the schedules in the document."""
    from app.apply import document
    from app.db import make_engine, make_sessionmaker
    from app.oncall import store as oncall_store
    from app.transaction import writing

    rules = _rules_in_force(settings) if prune else None
    engine = make_engine(settings)
    try:
        now = SystemClock().now()
        async with writing(make_sessionmaker(engine), dry_run=dry_run) as session:
            changes = await document.apply_document(
                session,
                config,
                now=now,
                by=APPLY_ACTOR,
                prune_missing=prune,
                rules=rules,
                settings=settings,
            )
            warnings = []
            for spec in config.schedules:
                schedule = await oncall_store.load_schedule(session, spec.name, ending_after=now)
                assert schedule is not None
                warnings += [
                    f"schedule {spec.name}: {warning}"
                    for warning in oncall_store.stretch_warnings(schedule, now)
                ]
        return changes, warnings
    finally:
        await engine.dispose()


def apply(
    file: Annotated[
        Path,
        typer.Option(
            "--file", "-f", help="On-call YAML: responders, schedules, escalation policies"
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print what would be added, changed, removed; write nothing"
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also remove what the file no longer names (of each kind it has a key for)",
        ),
    ] = False,
) -> None:
    """Apply an on-call file (responders, schedules, escalation policies), all or nothing.

    Applying the same file again changes nothing. --prune removes what the file no
    longer names, refusing (and changing nothing) while open incidents page through
    it; --dry-run prints each change and writes nothing."""
    from app.apply import config as oncall_schemas
    from app.apply import document
    from app.errors import KlaxonError

    try:
        config = oncall_schemas.load_config(file)
    except oncall_schemas.ConfigError as exc:
        fail("\n".join(exc.errors))
    settings = get_settings()
    try:
        with database_errors(settings, "; nothing was written"):
            changes, warnings = asyncio.run(
                _apply_oncall(settings, config, dry_run=dry_run, prune=prune)
            )
    except KlaxonError as exc:
        fail(f"{file}: {exc.message}; nothing was written")
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    if dry_run or prune:
        for item in changes:
            if item.change != "unchanged":
                typer.echo(f"{item.kind}/{item.name} {_SAID[item.change]}")
    counts = document.counted(changes)
    summary = (
        f"{len(config.responders)} responders, {len(config.schedules)} schedules,"
        f" {len(config.policies)} policies: {counts['created']} created,"
        f" {counts['updated']} updated, {counts['unchanged']} unchanged"
    )
    if prune:
        summary += f", {counts['removed']} removed"
    if dry_run:
        summary += " (dry run, nothing written)"
    typer.echo(f"{file}: {summary}")


#: How ``apply --dry-run`` and ``--prune`` name each change, one line per item.
_SAID = {"created": "added", "updated": "changed", "removed": "removed"}
