"""``klaxon apply --prune``: remove what the on-call document no longer names.

Only the kinds the document has a key for are pruned: a file with
``heartbeats: []`` removes every heartbeat, one without a ``heartbeats`` key
leaves them alone. Nothing is removed, and ``KlaxonError`` names every reason,
when removing would

- take away what an open incident pages through: its escalation policy, a
  schedule or responder that policy targets, or a responder already paged for
  it (``Conflict``, 409: resolve the incident first);
- leave a reference behind: a schedule, override or policy that is kept but
  names a responder or schedule that would go (400);
- remove a policy that a route of the rules in force names (400: its incidents
  would page through ``default``; change the route and reload first).

Runs after the document's upserts, in the same transaction, so it sees the
policies and schedules as the document leaves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.apply.config import OnCallConfig
from app.errors import Conflict, KlaxonError
from app.models import (
    handoff_marks_table,
    heartbeats_table,
    incidents_table,
    notifications_table,
    overrides_table,
    policies_table,
    responders_table,
    schedules_table,
    steps_table,
)
from app.rules import RulesFile
from app.rules.policies import named_policies

_TABLES = {
    "responder": (responders_table, "responders"),
    "schedule": (schedules_table, "schedules"),
    "policy": (policies_table, "policies"),
    "heartbeat": (heartbeats_table, "heartbeats"),
}


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in sorted(set(names)))


async def _stale(session: AsyncSession, config: OnCallConfig) -> dict[str, set[str]]:
    """By kind, the stored names the document does not name (kinds it has a key for)."""
    stale: dict[str, set[str]] = {}
    for kind, (table, section) in _TABLES.items():
        if section not in config.model_fields_set:
            continue
        named = {item.name for item in getattr(config, section)}
        stored = set((await session.execute(select(table.c.name))).scalars())
        stale[kind] = stored - named
    return stale


async def _kept_policies(session: AsyncSession, removed: set[str]) -> list[Any]:
    p = policies_table.c
    return list(await session.execute(select(p.name, p.steps).where(p.name.not_in(removed))))


def _targets(steps: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(responders, schedules) a stored policy's steps target."""
    responders = {who for step in steps for who in step["targets"].get("responders", [])}
    schedules = {name for step in steps for name in step["targets"].get("schedules", [])}
    return responders, schedules


async def _dangling(session: AsyncSession, stale: dict[str, set[str]]) -> list[str]:
    """What is kept but names a responder or schedule that would be removed."""
    gone_responders, gone_schedules = stale.get("responder", set()), stale.get("schedule", set())
    problems: list[str] = []
    s, o = schedules_table.c, overrides_table.c
    for row in await session.execute(select(s.name, s.layers).where(s.name.not_in(gone_schedules))):
        for layer in row.layers:
            used = set(layer["participants"]) & gone_responders
            if used:
                problems.append(
                    f"schedule {row.name!r} (layer {layer['name']!r})"
                    f" uses responder {_quoted(used)}"
                )
    overrides = await session.execute(
        select(s.name, o.responder)
        .join(overrides_table, o.schedule_id == s.id)
        .where(s.name.not_in(gone_schedules), o.responder.in_(gone_responders))
    )
    for row in overrides:
        problems.append(f"an override on schedule {row.name!r} names responder {row.responder!r}")
    for policy in await _kept_policies(session, stale.get("policy", set())):
        responders, schedules = _targets(policy.steps)
        if responders & gone_responders:
            problems.append(
                f"policy {policy.name!r} pages responder {_quoted(responders & gone_responders)}"
            )
        if schedules & gone_schedules:
            problems.append(
                f"policy {policy.name!r} pages schedule {_quoted(schedules & gone_schedules)}"
            )
    return sorted(set(problems))


def _numbers(numbers: Iterable[int]) -> str:
    return ", ".join(f"#{n}" for n in sorted(set(numbers)))


async def _paged_through(session: AsyncSession, stale: dict[str, set[str]]) -> list[str]:
    """What open incidents page through, among what would be removed."""
    i, st, n = incidents_table.c, steps_table.c, notifications_table.c
    open_incidents = list(
        await session.execute(select(i.number, i.policy).where(i.status != "resolved"))
    )
    if not open_incidents:
        return []
    numbers = [row.number for row in open_incidents]
    by_policy: dict[str, set[int]] = {}
    for row in open_incidents:
        by_policy.setdefault(row.policy or "default", set()).add(row.number)
    # A step falls back to 'default' when its policy is missing: it pages through that.
    for row in await session.execute(
        select(st.policy, st.incident_number).where(
            st.incident_number.in_(numbers), st.status == "pending"
        )
    ):
        by_policy.setdefault(row.policy, set()).add(row.incident_number)
    problems = [
        f"policy {name!r} ({_numbers(incidents)})"
        for name, incidents in sorted(by_policy.items())
        if name in stale.get("policy", set())
    ]
    p = policies_table.c
    for row in await session.execute(select(p.name, p.steps).where(p.name.in_(sorted(by_policy)))):
        responders, schedules = _targets(row.steps)
        where = f"policy {row.name!r} of {_numbers(by_policy[row.name])}"
        for kind, names in (("schedule", schedules), ("responder", responders)):
            for name in sorted(names & stale.get(kind, set())):
                problems.append(f"{kind} {name!r} ({where})")
    paged = await session.execute(
        select(n.responder_name, n.incident_number)
        .where(
            n.incident_number.in_(numbers),
            n.kind == "page",
            n.responder_name.in_(stale.get("responder", set())),
        )
        .distinct()
    )
    by_responder: dict[str, set[int]] = {}
    for row in paged:
        by_responder.setdefault(row.responder_name, set()).add(row.incident_number)
    for name, incidents in sorted(by_responder.items()):
        problems.append(f"responder {name!r} (paged for {_numbers(incidents)})")
    return list(dict.fromkeys(problems))


def _routed(stale: dict[str, set[str]], rules: RulesFile | None) -> list[str]:
    if rules is None:
        return []
    named = named_policies(rules)
    return [
        f"policy {name!r} (named by the rules: {', '.join(named[name])})"
        for name in sorted(stale.get("policy", set()) & set(named))
    ]


async def _remove(session: AsyncSession, stale: dict[str, set[str]]) -> None:
    policies, schedules = stale.get("policy", set()), stale.get("schedule", set())
    responders, heartbeats = stale.get("responder", set()), stale.get("heartbeat", set())
    if policies:
        await session.execute(delete(policies_table).where(policies_table.c.name.in_(policies)))
    if schedules:
        s = schedules_table.c
        ids = select(s.id).where(s.name.in_(schedules)).scalar_subquery()
        # Explicit, as SQLite may run without foreign keys' ON DELETE CASCADE.
        await session.execute(delete(overrides_table).where(overrides_table.c.schedule_id.in_(ids)))
        await session.execute(
            delete(handoff_marks_table).where(handoff_marks_table.c.schedule_id.in_(ids))
        )
        await session.execute(delete(schedules_table).where(s.name.in_(schedules)))
    if responders:
        r = responders_table.c
        ids = select(r.id).where(r.name.in_(responders)).scalar_subquery()
        # Past notifications keep the responder's name; only the link goes.
        await session.execute(
            update(notifications_table)
            .where(notifications_table.c.responder_id.in_(ids))
            .values(responder_id=None)
        )
        await session.execute(delete(responders_table).where(r.name.in_(responders)))
    if heartbeats:
        await session.execute(
            delete(heartbeats_table).where(heartbeats_table.c.name.in_(heartbeats))
        )


async def prune(
    session: AsyncSession, config: OnCallConfig, *, rules: RulesFile | None
) -> list[tuple[str, str]]:
    """Remove what ``config`` no longer names; ``(kind, name)`` of each removed.
    Raises before removing anything if any of it may not go (see the module)."""
    stale = await _stale(session, config)
    in_use = await _paged_through(session, stale)
    if in_use:
        raise Conflict(
            "--prune would remove what open incidents page through: "
            + "; ".join(in_use)
            + " (resolve them first, or keep these in the file)"
        )
    problems = _routed(stale, rules) + await _dangling(session, stale)
    if problems:
        raise KlaxonError(
            "--prune would leave these without what they name: " + "; ".join(problems)
        )
    await _remove(session, stale)
    return [(kind, name) for kind in _TABLES for name in sorted(stale.get(kind, set()))]
