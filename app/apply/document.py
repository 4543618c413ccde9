"""The whole on-call document at once, as ``klaxon apply -f`` and
``POST /api/v1/oncall-config`` take it: responders, schedules, escalation
policies, heartbeats and maintenance windows (upserted by name; pruning
leaves windows alone: end or delete them through the API).

Applying upserts everything the document names, after checking that every
reference resolves to the document or the database. With ``prune``, what the
document no longer names is then removed (app/apply/prune.py), as
``kubectl apply --prune`` does. Nothing here commits: the caller's transaction
makes the whole document apply or nothing, and a dry run is that transaction
rolled back, with the same list of changes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.apply import prune
from app.apply.config import OnCallConfig
from app.errors import KlaxonError
from app.escalation import store as policy_store
from app.heartbeats.store import upsert_heartbeat
from app.maintenance import service as maintenance
from app.oncall import store
from app.rules import RulesFile
from app.settings import Settings

#: What happened to one item: ``created``, ``updated``, ``unchanged`` or ``removed``.
CHANGES = ("created", "updated", "unchanged", "removed")


@dataclass(frozen=True)
class ItemChange:
    kind: str  # responder, schedule, policy, heartbeat
    name: str
    change: str


async def _check_references(
    session: AsyncSession, config: OnCallConfig, rules: RulesFile | None = None
) -> None:
    """Every reference resolves to the document or the database (and, given the
    rules in force, every action a step runs to them); else one error naming every
    unknown name and where it is used."""
    responders_used: dict[str, list[str]] = {}
    schedules_used: dict[str, list[str]] = {}
    for i, sched in enumerate(config.schedules):
        for j, layer in enumerate(sched.layers):
            for who in layer.participants:
                responders_used.setdefault(who, []).append(
                    f"schedules[{i}] ({sched.name!r}) layers[{j}] ({layer.name!r})"
                )
        for j, o in enumerate(sched.overrides):
            responders_used.setdefault(o.responder, []).append(
                f"schedules[{i}] ({sched.name!r}) overrides[{j}]"
            )
    for i, policy in enumerate(config.policies):
        for j, step in enumerate(policy.steps):
            where = f"policies[{i}] ({policy.name!r}) steps[{j}]"
            for who in step.targets.responders:
                responders_used.setdefault(who, []).append(where)
            for name in step.targets.schedules:
                schedules_used.setdefault(name, []).append(where)

    problems: list[str] = []
    defined = {r.name for r in config.responders}
    outside = set(responders_used) - defined
    unknown = outside - set(await store.get_responders_by_name(session, outside))
    for who in sorted(unknown):
        places = "; ".join(dict.fromkeys(responders_used[who]))
        problems.append(f"unknown responder {who!r} (used in {places})")
    defined = {s.name for s in config.schedules}
    outside = set(schedules_used) - defined
    unknown = outside - await store.existing_schedules(session, outside)
    for name in sorted(unknown):
        places = "; ".join(dict.fromkeys(schedules_used[name]))
        problems.append(f"unknown schedule {name!r} (used in {places})")
    if rules is not None:
        problems += policy_store.unknown_actions(config.policies, rules)
    if problems:
        raise KlaxonError("; ".join(problems))


async def _upsert_all(
    session: AsyncSession,
    config: OnCallConfig,
    *,
    now: datetime,
    by: str,
    settings: Settings | None = None,
    rules: RulesFile | None = None,
) -> list[ItemChange]:
    """Upsert responders, then schedules, then policies, then heartbeats; new
    overrides are recorded as made ``by`` this actor."""
    await _check_references(session, config, rules)
    changes: list[ItemChange] = []
    for responder in config.responders:
        change = await store.upsert_responder(session, responder, now=now)
        changes.append(ItemChange("responder", responder.name, change.value))
    for schedule in config.schedules:
        change = await store.upsert_schedule(session, schedule, now=now, by=by)
        changes.append(ItemChange("schedule", schedule.name, change.value))
    for policy in config.policies:
        change = await policy_store.upsert_policy(session, policy, now=now)
        changes.append(ItemChange("policy", policy.name, change.value))
    for heartbeat in config.heartbeats:
        outcome = await upsert_heartbeat(session, heartbeat, now=now)
        changes.append(ItemChange("heartbeat", heartbeat.name, str(outcome)))
    for window in config.maintenance:
        outcome = await maintenance.upsert(session, settings, window, author=by, now=now)
        changes.append(ItemChange("maintenance", window.name, str(outcome)))
    return changes


async def apply_document(
    session: AsyncSession,
    config: OnCallConfig,
    *,
    now: datetime,
    by: str,
    prune_missing: bool = False,
    rules: RulesFile | None = None,
    settings: Settings | None = None,
) -> list[ItemChange]:
    """Apply ``config``; with ``prune_missing``, then remove what it no longer
    names (see :func:`app.apply.prune.prune`; ``rules`` are the rules in force,
    whose routes' policies are kept; ``settings`` say where maintenance windows'
    silences go). Raises ``KlaxonError`` naming every
    problem before anything is left half-written (the caller rolls back)."""
    changes = await _upsert_all(session, config, now=now, by=by, settings=settings, rules=rules)
    if prune_missing:
        removed = await prune.prune(session, config, rules=rules)
        changes += [ItemChange(kind, name, "removed") for kind, name in removed]
    return changes


def counted(changes: Iterable[ItemChange]) -> dict[str, int]:
    counts: Counter[str] = Counter({change: 0 for change in CHANGES})
    for item in changes:
        counts[item.change] += 1
    return dict(counts)


async def apply_config(
    session: AsyncSession, config: OnCallConfig, *, now: datetime, by: str
) -> dict[str, int]:
    """Apply without pruning; ``{"created": n, "updated": n, "unchanged": n}``.
    Applying the same document twice reports everything unchanged the second time."""
    counts = counted(await apply_document(session, config, now=now, by=by))
    del counts["removed"]
    return counts


__all__ = [
    "CHANGES",
    "ItemChange",
    "apply_config",
    "apply_document",
    "counted",
]
