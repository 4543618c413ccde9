"""Escalation policies in the database, and the checks a policy must pass.

Core statements on ``escalation_policies``, inside the caller's transaction,
never committing; :func:`upsert_policy` is idempotent and checks that the
policy's target responders and schedules exist. :func:`unknown_actions` checks
its action steps against the rules in force.

A policy's targets are on-call things (responders, schedules): this module reads
them through app/oncall's stores, which never import escalation back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import KlaxonError
from app.escalation.policy import PolicySpec
from app.models import policies_table
from app.oncall.responder_store import require_responders
from app.oncall.rows import Change, quoted_names, upsert_named
from app.oncall.schedule_store import existing_schedules
from app.rules import RulesFile


def unknown_actions(policies: Iterable[PolicySpec], rules: RulesFile) -> list[str]:
    """A step that runs or offers an action the rules file does not declare (a
    typo would leave the step doing nothing but wait, or its page offering
    nothing), one problem each."""
    declared = ", ".join(action.name for action in rules.actions) or "none"
    return [
        f"policy {policy.name!r} steps[{j}]: unknown action {name!r}"
        f" (the rules file declares: {declared})"
        for policy in policies
        for j, step in enumerate(policy.steps)
        for name in (step.run, step.offer)
        if name is not None and rules.action(name) is None
    ]


def _policy_targets(spec: PolicySpec) -> tuple[set[str], set[str]]:
    responders = {who for step in spec.steps for who in step.targets.responders}
    schedules = {name for step in spec.steps for name in step.targets.schedules}
    return responders, schedules


async def upsert_policy(session: AsyncSession, spec: PolicySpec, *, now: datetime) -> Change:
    responders, schedules = _policy_targets(spec)
    await require_responders(session, responders, f"policy {spec.name!r}")
    missing = schedules - await existing_schedules(session, schedules)
    if missing:
        raise KlaxonError(f"policy {spec.name!r}: unknown schedule {quoted_names(missing)}")
    p = policies_table.c
    # Without the fields a step leaves unset (run, wait): a policy stored before
    # action steps existed reads as unchanged.
    steps = [step.model_dump(mode="json", exclude_none=True) for step in spec.steps]
    existing = (await session.execute(select(policies_table).where(p.name == spec.name))).first()
    values = {
        "steps": steps,
        "repeat": spec.repeat,
        "ack": spec.ack,
        "silence_on_ack": spec.silence_on_ack,
    }
    return await upsert_named(session, policies_table, spec.name, existing, values, now=now)


async def get_policy(session: AsyncSession, name: str) -> PolicySpec | None:
    p = policies_table.c
    row = (await session.execute(select(policies_table).where(p.name == name))).first()
    return None if row is None else PolicySpec.from_row(row)


async def policy_names(session: AsyncSession) -> set[str]:
    """The names of every escalation policy (what a rules file may route to)."""
    return set((await session.execute(select(policies_table.c.name))).scalars())


async def list_policies(session: AsyncSession) -> list[PolicySpec]:
    p = policies_table.c
    rows = await session.execute(select(policies_table).order_by(p.name))
    return [PolicySpec.from_row(row) for row in rows]
