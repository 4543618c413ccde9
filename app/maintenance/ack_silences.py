"""Silence on acknowledge: a route with ``silence_on_ack: 1h`` in the rules file,
or else the incident's escalation policy with ``silence_on_ack`` (the route's
setting, the default route's included, takes precedence), has an acknowledged
incident's alerts silenced in Alertmanager, one silence per alert on its exact
label set, so the alerts stop notifying upstream while someone works on them.
A label set already held by a silence asked for by SMS
(app/maintenance/requested.py) is left to that one.

Planned like the window silences (app/maintenance/silences.py) and by the same
reconciliation pass, whatever the channel of the acknowledgement (API, SMS,
call, CLI): the pass compares the incidents acknowledged now with the silences
it holds for incidents. It extends a silence while its incident stays
acknowledged and the alert fires (when less than half its length is left), and
lifts it (expires it upstream) when the incident is resolved or paging again
(un-acknowledged, reopened) or the alert stopped firing. Each is said on the
incident's timeline. Only alerts that came from Alertmanager are silenced there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import alerts_table, incidents_table, policies_table, silences_table
from app.rules import RulesFile
from app.rules.classify import route
from app.rules.runbooks import incident_labels
from app.settings import Settings
from app.timeline import event_row, record

_S, _I, _A, _P = silences_table.c, incidents_table.c, alerts_table.c, policies_table.c
LIVE = ("pending", "synced")


def exact_matchers(labels: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": str(k), "value": str(v), "isRegex": False, "isEqual": True}
        for k, v in sorted(labels.items())
    ]


def silence_seconds(rules: RulesFile, labels: Mapping[str, Any], service: str) -> int | None:
    """The ``silence_on_ack`` of the route the incident's labels take (None: the
    route says nothing, and the incident's escalation policy decides)."""
    routing = route(rules, incident_labels(labels, service))
    for candidate in rules.routes:
        if candidate.name == routing.route:
            return candidate.silence_on_ack
    return rules.default_route.silence_on_ack


async def label_sets(session: AsyncSession, number: int) -> dict[str, list[dict[str, Any]]]:
    """The exact matchers of incident ``number``'s firing Alertmanager alerts, by their repr."""
    firing = await session.execute(
        select(_A.labels).where(
            _A.incident_number == number, _A.status == "firing", _A.source == "alertmanager"
        )
    )
    sets: dict[str, list[dict[str, Any]]] = {}
    for alert in firing:
        matchers = exact_matchers(alert.labels)
        sets[repr(matchers)] = matchers
    return sets


def describe(matchers: list[dict[str, Any]]) -> str:
    return "{" + ", ".join(f'{m["name"]}="{m["value"]}"' for m in matchers) + "}"


async def plan_incidents(
    session: AsyncSession, rules: RulesFile, settings: Settings, now: datetime
) -> None:
    """Make the incident silences what the acknowledged incidents want now."""
    if not settings.alertmanager_url_list:
        return
    acked = await session.execute(
        select(_I.number, _I.labels, _I.service, _I.policy, _I.acknowledged_by).where(
            _I.status == "acknowledged"
        )
    )
    by_policy = await _policy_seconds(session)
    requested = await _requested(session)
    wanted: dict[int, tuple[int, dict[str, list[dict[str, Any]]], str]] = {}
    for incident in acked:
        seconds = silence_seconds(rules, incident.labels, incident.service)
        if seconds is None:
            seconds = by_policy.get(incident.policy or "default")
        if seconds is None:
            continue
        sets = {
            key: matchers
            for key, matchers in (await label_sets(session, incident.number)).items()
            # A silence asked for by hand holds these (app/maintenance/requested.py).
            if (incident.number, key) not in requested
        }
        if sets:
            wanted[incident.number] = (seconds, sets, incident.acknowledged_by or "someone")
    rows = await session.execute(
        select(silences_table)
        .where(_S.incident_number.is_not(None), _S.requested_by.is_(None), _S.state.in_(LIVE))
        .with_for_update()
    )
    timeline: list[dict[str, Any]] = []
    for row in rows:
        seconds, sets, _ = wanted.get(row.incident_number, (0, {}, ""))
        key = repr(row.matchers)
        if key not in sets:
            state = (
                "expired" if row.alertmanager_id is None and row.lease_until is None else "expiring"
            )
            await _change(session, row.id, now, state=state)
            timeline.append(
                _line(
                    row.incident_number,
                    f"Alertmanager silence lifted: {describe(row.matchers)}",
                    now,
                )
            )
            continue
        del sets[key]
        if row.ends_at - now < timedelta(seconds=seconds / 2):
            await _change(
                session, row.id, now, state="pending", ends_at=now + timedelta(seconds=seconds)
            )
    base = (settings.public_url or settings.served_url).rstrip("/")
    for number, (seconds, sets, by) in wanted.items():
        for matchers in sets.values():
            await session.execute(
                insert(silences_table).values(
                    incident_number=number,
                    matchers=matchers,
                    starts_at=now,
                    ends_at=now + timedelta(seconds=seconds),
                    comment=f"Klaxon #{number} acknowledged by {by}"
                    f" {base}/api/v1/incidents/{number}",
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
            timeline.append(
                _line(
                    number,
                    f"Silenced in Alertmanager while acknowledged ({seconds // 60} min at a time):"
                    f" {describe(matchers)}",
                    now,
                )
            )
    await record(session, timeline)


async def _policy_seconds(session: AsyncSession) -> dict[str, int]:
    """The ``silence_on_ack`` of each escalation policy that has one."""
    rows = await session.execute(
        select(_P.name, _P.silence_on_ack).where(_P.silence_on_ack.is_not(None))
    )
    return {row.name: int(row.silence_on_ack) for row in rows}


async def _requested(session: AsyncSession) -> set[tuple[int, str]]:
    rows = await session.execute(
        select(_S.incident_number, _S.matchers).where(
            _S.requested_by.is_not(None), _S.state.in_(LIVE)
        )
    )
    return {(row.incident_number, repr(row.matchers)) for row in rows}


def _line(number: int, message: str, now: datetime) -> dict[str, Any]:
    return event_row(number, "silence", message, at=now, actor="klaxon (alertmanager)")


async def _change(session: AsyncSession, row_id: int, now: datetime, **values: Any) -> None:
    await session.execute(
        update(silences_table)
        .where(and_(_S.id == row_id))
        .values(lease_until=None, next_attempt_at=now, attempts=0, updated_at=now, **values)
    )
