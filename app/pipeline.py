"""The path of an alert through Klaxon, stage by stage:

    source payload ─► normalize (app.sources.*)       AlertEvents
                   ─► classify + route (app.rules)     severity, service, policy, group key
                   ─► dedupe + group (app.incidents)   episodes, incidents, timeline
                   ─► commit                           only now is the sender answered
                   ─► escalate (after commit)          wake the engine for new incidents

One transaction per delivery. A deadlock or serialization failure between
concurrent deliveries is retried here; a database that stays unreachable
becomes a 503, which Alertmanager retries.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import DBAPIError

from app.db import is_unavailable
from app.errors import Unavailable
from app.events import AlertEvent
from app.incidents.ingest import IngestResult, classify_events, ingest
from app.metrics import ALERTS_DEDUPLICATED, ALERTS_RECEIVED, ALERTS_STALE, INCIDENTS_OPENED
from app.runtime import Runtime

log = logging.getLogger(__name__)
_ATTEMPTS = 3


async def process(runtime: Runtime, events: list[AlertEvent], *, actor: str) -> IngestResult:
    classified = classify_events(runtime.rules.current, events)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with runtime.sessions() as session, session.begin():
                result = await ingest(session, classified, now=runtime.clock.now(), actor=actor)
            break
        except (DBAPIError, OSError, TimeoutError) as exc:
            if not is_unavailable(exc):
                raise
            if attempt == _ATTEMPTS:
                log.warning("database unavailable, answering 503: %s", type(exc).__name__)
                raise Unavailable("database unavailable, retry later") from exc
    _count(events, result)
    if result.opened:
        log.info("incidents opened: %s", ", ".join(f"#{n}" for n in result.opened))
    return result


def _count(events: list[AlertEvent], result: IngestResult) -> None:
    for event in events:
        ALERTS_RECEIVED.labels(event.source, event.status).inc()
    if events:
        source = events[0].source
        ALERTS_DEDUPLICATED.labels(source).inc(result.repeats)
        ALERTS_STALE.labels(source).inc(result.stale)
    for severity in result.opened_severities.values():
        INCIDENTS_OPENED.labels(severity).inc()
