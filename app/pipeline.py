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
                   ─► wake the engine (after commit)   app.escalation.engine

A deadlock or serialization failure between concurrent deliveries is retried
here; a database that stays unreachable becomes a 503, which Alertmanager
retries (re-counting a repeat on such a retry is harmless).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from app.automation.actions import cancel_queued
from app.automation.steps import note_fixed_by_action
from app.db import is_unavailable
from app.errors import Unavailable
from app.escalation.paging import begin_paging, stop_paging
from app.events import AlertEvent
from app.incidents.resolution import tell_resolved
from app.ingest.dedupe import ingest
from app.ingest.repeats import record_repeats
from app.metrics import ALERTS_DEDUPLICATED, ALERTS_RECEIVED, ALERTS_STALE, INCIDENTS_OPENED
from app.results import Classified, IngestResult, episode_key
from app.rules import classify_events
from app.runtime import Runtime

log = logging.getLogger(__name__)
_ATTEMPTS = 3


async def process(runtime: Runtime, events: list[AlertEvent], *, actor: str) -> IngestResult:
    classified = classify_events(runtime.rules.current, events)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            result = await _store(runtime, classified, actor=actor)
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


async def _store(runtime: Runtime, classified: list[Classified], *, actor: str) -> IngestResult:
    now = runtime.clock.now()
    # Autocommit on PostgreSQL: the statement's row locks end with the
    # statement. It writes only if the delivery is nothing but repeats.
    async with runtime.engine.connect() as conn:
        repeats = await record_repeats(conn, classified, now=now)
    rest = [item for item in classified if episode_key(item.event) not in repeats.matched]
    if rest:
        async with runtime.sessions() as session, session.begin():
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
            runtime.wake_engine()
        elif result.touched:
            runtime.changes.publish()  # the console's live pages (app/live.py)
    else:
        result = IngestResult()
    result.received = len(classified)
    result.repeats += len(repeats.matched)
    result.touched |= repeats.incidents
    return result


def _flap_windows(runtime: Runtime) -> dict[str, timedelta]:
    """Sources whose alerts flap on their own (an uptime check going down, up,
    down): firing again soon after resolving reopens the same incident."""
    minutes = runtime.settings.healthcheck_flap_minutes
    return {"healthcheck": timedelta(minutes=minutes)} if minutes > 0 else {}


def _count(events: list[AlertEvent], result: IngestResult) -> None:
    for event in events:
        ALERTS_RECEIVED.labels(event.source, event.status).inc()
    if events:
        source = events[0].source
        ALERTS_DEDUPLICATED.labels(source).inc(result.repeats)
        ALERTS_STALE.labels(source).inc(result.stale)
    for severity in result.opened_severities.values():
        INCIDENTS_OPENED.labels(severity).inc()
