"""The path of an alert through Klaxon, stage by stage:

    source payload ─► normalize (app.sources.*)       AlertEvents
                   ─► classify + route (app.rules)     severity, service, policy, group key
                   ─► count repeats (app.incidents)    one statement, when the delivery
                                                       only repeats firing alerts
                   ─► dedupe + group (app.incidents)   anything else: repeats, new episodes,
                                                       resolutions, incidents, timeline:
                                                       one transaction
                   ─► commit                           only now is the sender answered
                   ─► start paging (same transaction)  step 1 of the policy, due now
                   ─► wake the worker (after commit)   app.worker

Both commits are the boundary's (app/transaction.py), which says why a
delivery of repeats commits on its own, before the rest.

A deadlock or serialization failure between concurrent deliveries is retried
here; a database that stays unreachable becomes a 503, which Alertmanager
retries (re-counting a repeat on such a retry is harmless).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.automation.actions import cancel_queued
from app.automation.steps import note_fixed_by_action
from app.db import is_unavailable
from app.errors import Unavailable
from app.escalation.paging import begin_paging, stop_paging
from app.events import AlertEvent
from app.incidents.resolution import tell_resolved
from app.ingest.classified import classify_remembered
from app.ingest.dedupe import ingest
from app.ingest.repeat_batch import batcher_for
from app.ingest.repeats import Repeats, record_repeats, repeat_candidates
from app.metrics import ALERTS_DEDUPLICATED, ALERTS_RECEIVED, ALERTS_STALE, INCIDENTS_OPENED
from app.results import Classified, IngestResult, episode_key
from app.runtime import Runtime
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
_ATTEMPTS = 3


#: A caller's own write, run first in the delivery's transaction (a heartbeat's
#: ping or deletion, app/heartbeats/endpoints.py): it commits with what the
#: events change, or, if it raises, nothing of either is kept.
Write = Callable[[AsyncSession], Awaitable[None]]


async def process(
    runtime: Runtime, events: list[AlertEvent], *, actor: str, first: Write | None = None
) -> IngestResult:
    classified = classify_remembered(runtime.rules.current, events)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            result = await _store(runtime, classified, actor=actor, first=first)
            break
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if attempt == _ATTEMPTS:
                log.warning("database unavailable, answering 503: %s", type(exc).__name__)
                raise Unavailable("database unavailable, retry later") from exc
    _count(events, result)
    if result.opened:
        log.info("incidents opened: %s", ", ".join(f"#{n}" for n in result.opened))
    return result


async def _store(
    runtime: Runtime, classified: list[Classified], *, actor: str, first: Write | None
) -> IngestResult:
    now = runtime.clock.now()
    repeats = await _count_repeats(runtime, classified, now=now)
    rest = [item for item in classified if episode_key(item.event) not in repeats.matched]
    if rest or first is not None:
        async with _ingest_slot(runtime), unit_of_work(runtime) as uow:
            session = uow.session
            if first is not None:
                await first(session)
            result = await ingest(
                session, rest, now=now, actor=actor, reopen_within=_flap_windows(runtime)
            )
            # Paging starts in the same transaction: committed with the
            # incident, the first step cannot be lost.
            await begin_paging(
                session, runtime.rules.current, result.opened_incidents, now=now, actor=actor
            )
            for number in result.resolved_incidents:
                await stop_paging(session, number, now=now)
                await note_fixed_by_action(session, number, now=now)
                await cancel_queued(session, number, now=now, why="the alerts resolved")
                await tell_resolved(session, number, by=actor, now=now)
            if result.opened_incidents or result.resolved_incidents:
                uow.wake()
            elif result.touched:
                uow.after_commit(runtime.changes.publish)  # the console's live pages
    else:
        result = IngestResult()
    result.received = len(classified)
    result.repeats += len(repeats.matched)
    result.touched |= repeats.incidents
    return result


async def _count_repeats(
    runtime: Runtime, classified: list[Classified], *, now: datetime
) -> Repeats:
    """The delivery's first commit, when it is nothing but repeats: why a
    delivery commits twice is told in app/transaction.py ("Where a request
    commits twice"). On PostgreSQL in autocommit, concurrent deliveries sharing
    one statement (app/ingest/repeat_batch.py); on SQLite in a unit of work of
    its own, rolled back unless every alert repeated."""
    candidates = repeat_candidates(classified)
    if candidates is None:
        return Repeats()
    if runtime.engine.dialect.name == "postgresql":
        source, wanted = candidates
        return await batcher_for(runtime.engine).record(source, wanted, now=now)
    async with unit_of_work(runtime) as uow:
        found = await record_repeats(await uow.session.connection(), classified, now=now)
        if not found.matched:
            uow.discard()  # not all of them repeats: what was counted goes back
    return found


#: Pooled connections ingest leaves to the worker (its loop, step
#: firers and senders) and the API: with every connection held by webhooks
#: under load, a new incident's first step and page queued for the pool
#: behind them, each of their transactions anew (issue 13.3).
ENGINE_RESERVE = 4
_SLOTS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _ingest_slot(runtime: Runtime) -> asyncio.Semaphore:
    """The semaphore that keeps ingest to its share of the pool (PostgreSQL)."""
    slots = _SLOTS.get(runtime.engine)
    if slots is None:
        size = runtime.settings.db_pool_size
        if runtime.settings.is_sqlite:
            size = max(size, 1_000)  # one writer: SQLite's own lock orders them
        share = max(size - ENGINE_RESERVE, size // 2, 1)
        slots = _SLOTS[runtime.engine] = asyncio.Semaphore(share)
    return slots


def _flap_windows(runtime: Runtime) -> dict[str, timedelta]:
    """Sources whose alerts flap on their own (an uptime check going down, up,
    down): firing again soon after resolving reopens the same incident."""
    minutes = runtime.settings.healthcheck_flap_minutes
    return {"healthcheck": timedelta(minutes=minutes)} if minutes > 0 else {}


def _count(events: list[AlertEvent], result: IngestResult) -> None:
    # Counted per (source, status), not per alert: one labels() lookup each.
    for (source, status), n in Counter((e.source, e.status) for e in events).items():
        ALERTS_RECEIVED.labels(source, status).inc(n)
    if events:
        source = events[0].source
        ALERTS_DEDUPLICATED.labels(source).inc(result.repeats)
        ALERTS_STALE.labels(source).inc(result.stale)
    for severity in result.opened_severities.values():
        INCIDENTS_OPENED.labels(severity).inc()
