"""Responders, schedules, overrides and escalation policies in the database
(the whole on-call document at once: app/oncall/document.py).

Core statements on the tables; every function runs inside the caller's
transaction and never commits. Upserts are idempotent: writing what is already
stored changes nothing (not even ``updated_at``) and reports
:attr:`Change.UNCHANGED`. References are checked against the database: a
schedule's participants and override responders, and a policy's target
responders and schedules, must exist (:func:`apply_config` also accepts those
defined in the same document) or a :class:`KlaxonError` names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, KlaxonError, NotFound
from app.escalation.policy import PolicySpec
from app.models import overrides_table, policies_table, responders_table, schedules_table
from app.oncall import rotation
from app.oncall.schemas import OverrideSpec, ResponderSpec, ScheduleSpec, to_rotation

__all__ = [
    "WARNING_HORIZON",
    "Change",
    "add_override",
    "delete_override",
    "existing_schedules",
    "get_policy",
    "get_responder",
    "get_responder_by_id",
    "get_responder_by_phone",
    "get_responders_by_name",
    "get_schedule",
    "list_overrides",
    "list_policies",
    "list_responders",
    "list_schedules",
    "load_schedule",
    "oncall_now",
    "policy_names",
    "stretch_warnings",
    "upsert_policy",
    "upsert_responder",
    "upsert_schedule",
]

#: How far ahead a saved schedule is checked for over-long on-call stretches.
WARNING_HORIZON = timedelta(weeks=8)
#: The playbook's limit on unbroken on-call time.
CONSECUTIVE_LIMIT = timedelta(days=7)


class Change(StrEnum):
    """What an upsert did. Truthy when something changed."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"

    def __bool__(self) -> bool:
        return self is not Change.UNCHANGED


def _names(items: Iterable[str]) -> str:
    return ", ".join(repr(n) for n in sorted(set(items)))


# --------------------------------------------------------------------------------------
# Responders
# --------------------------------------------------------------------------------------


async def get_responder(session: AsyncSession, name: str) -> Row[Any] | None:
    r = responders_table.c
    return (await session.execute(select(responders_table).where(r.name == name))).first()


async def get_responder_by_id(session: AsyncSession, responder_id: int) -> Row[Any] | None:
    r = responders_table.c
    return (await session.execute(select(responders_table).where(r.id == responder_id))).first()


async def get_responder_by_phone(session: AsyncSession, phone: str) -> Row[Any] | None:
    """The responder with this E.164 number (how an inbound SMS finds its sender)."""
    r = responders_table.c
    return (await session.execute(select(responders_table).where(r.phone == phone))).first()


async def get_responders_by_name(
    session: AsyncSession, names: Iterable[str]
) -> dict[str, Row[Any]]:
    """The responders among ``names`` that exist, by name."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    r = responders_table.c
    rows = await session.execute(select(responders_table).where(r.name.in_(wanted)))
    return {row.name: row for row in rows}


async def list_responders(session: AsyncSession) -> list[Row[Any]]:
    r = responders_table.c
    return list(await session.execute(select(responders_table).order_by(r.name)))


async def upsert_responder(session: AsyncSession, spec: ResponderSpec, *, now: datetime) -> Change:
    r = responders_table.c
    # A phone, and each identity (Slack, e-mail, Mattermost), is one responder's only.
    identities = {
        "phone": spec.phone,
        "slack_user_id": spec.slack_user_id,
        "email": spec.email,
        "mattermost_user_id": spec.mattermost_user_id,
    }
    for column, identity in identities.items():
        if identity is None:
            continue
        holder = (
            await session.execute(select(r.name).where(r[column] == identity, r.name != spec.name))
        ).first()
        if holder is not None:
            raise Conflict(f"{column} {identity} already belongs to responder {holder.name!r}")
    existing = await get_responder(session, spec.name)
    # ``admin`` left out (None) keeps what is stored (false for a new responder).
    values: dict[str, Any] = {
        "phone": spec.phone,
        "time_zone": spec.time_zone,
        "slack_user_id": spec.slack_user_id,
        "mattermost_user_id": spec.mattermost_user_id,
        "email": spec.email,
    }
    if spec.admin is not None:
        values["admin"] = spec.admin
    if existing is None:
        await session.execute(
            insert(responders_table).values(
                name=spec.name, created_at=now, updated_at=now, **values
            )
        )
        return Change.CREATED
    if all(getattr(existing, key) == value for key, value in values.items()):
        return Change.UNCHANGED
    await session.execute(
        update(responders_table).where(r.id == existing.id).values(updated_at=now, **values)
    )
    return Change.UPDATED


async def _require_responders(session: AsyncSession, names: Iterable[str], where: str) -> None:
    wanted = set(names)
    missing = wanted - set(await get_responders_by_name(session, wanted))
    if missing:
        raise KlaxonError(f"{where}: unknown responder {_names(missing)}")


# --------------------------------------------------------------------------------------
# Schedules and overrides
# --------------------------------------------------------------------------------------


def _schedule_values(spec: ScheduleSpec) -> dict[str, Any]:
    return {
        "time_zone": spec.time_zone,
        "layers": [layer.model_dump(mode="json") for layer in spec.layers],
        "services": list(spec.services),
    }


def _schedule_responders(spec: ScheduleSpec) -> set[str]:
    names = {who for layer in spec.layers for who in layer.participants}
    names.update(o.responder for o in spec.overrides)
    return names


async def get_schedule(session: AsyncSession, name: str) -> Row[Any] | None:
    s = schedules_table.c
    return (await session.execute(select(schedules_table).where(s.name == name))).first()


async def list_schedules(session: AsyncSession) -> list[Row[Any]]:
    s = schedules_table.c
    return list(await session.execute(select(schedules_table).order_by(s.name)))


async def list_overrides(
    session: AsyncSession, schedule_id: int, *, ending_after: datetime | None = None
) -> list[Row[Any]]:
    """A schedule's overrides in precedence order (later ones win), optionally only
    those that end after ``ending_after``."""
    o = overrides_table.c
    stmt = select(overrides_table).where(o.schedule_id == schedule_id)
    if ending_after is not None:
        stmt = stmt.where(o.ends_at > ending_after)
    return list(await session.execute(stmt.order_by(o.id)))


def _override(row: Row[Any]) -> rotation.Override:
    return rotation.Override(start=row.starts_at, end=row.ends_at, responder=row.responder)


async def upsert_schedule(
    session: AsyncSession, spec: ScheduleSpec, *, now: datetime, by: str
) -> Change:
    """Create or replace a schedule's time zone, layers and services. Overrides in
    ``spec`` replace the stored ones only when the spec sets them explicitly;
    new ones are recorded as made ``by`` this actor."""
    await _require_responders(session, _schedule_responders(spec), f"schedule {spec.name!r}")
    s, o = schedules_table.c, overrides_table.c
    values = _schedule_values(spec)
    existing = await get_schedule(session, spec.name)
    if existing is None:
        result = await session.execute(
            insert(schedules_table)
            .values(name=spec.name, created_at=now, updated_at=now, **values)
            .returning(s.id)
        )
        schedule_id: int = result.scalar_one()
        outcome = Change.CREATED
    else:
        schedule_id = existing.id
        same = all(getattr(existing, key) == value for key, value in values.items())
        outcome = Change.UNCHANGED if same else Change.UPDATED
    if "overrides" in spec.model_fields_set:
        wanted = [(x.start, x.end, x.responder) for x in spec.overrides]
        stored = [
            (row.starts_at, row.ends_at, row.responder)
            for row in await list_overrides(session, schedule_id)
        ]
        if wanted != stored:
            await session.execute(delete(overrides_table).where(o.schedule_id == schedule_id))
            if wanted:
                await session.execute(
                    insert(overrides_table),
                    [
                        {
                            "schedule_id": schedule_id,
                            "starts_at": start,
                            "ends_at": end,
                            "responder": who,
                            "created_at": now,
                            "created_by": by,
                        }
                        for start, end, who in wanted
                    ],
                )
            if outcome is Change.UNCHANGED:
                outcome = Change.UPDATED
    if outcome is Change.UPDATED:
        await session.execute(
            update(schedules_table).where(s.id == schedule_id).values(updated_at=now, **values)
        )
    return outcome


async def _schedule_id(session: AsyncSession, name: str) -> int:
    s = schedules_table.c
    found = (await session.execute(select(s.id).where(s.name == name))).first()
    if found is None:
        raise NotFound(f"no schedule {name!r}")
    schedule_id: int = found.id
    return schedule_id


async def add_override(
    session: AsyncSession, schedule_name: str, spec: OverrideSpec, *, now: datetime, by: str
) -> int:
    """Add an override that wins over the schedule's layers and earlier overrides,
    recorded as made ``by`` this actor; returns its id. ``NotFound`` if there is
    no such schedule."""
    schedule_id = await _schedule_id(session, schedule_name)
    await _require_responders(session, [spec.responder], f"override on {schedule_name!r}")
    result = await session.execute(
        insert(overrides_table)
        .values(
            schedule_id=schedule_id,
            starts_at=spec.start,
            ends_at=spec.end,
            responder=spec.responder,
            created_at=now,
            created_by=by,
        )
        .returning(overrides_table.c.id)
    )
    override_id: int = result.scalar_one()
    await session.execute(
        update(schedules_table).where(schedules_table.c.id == schedule_id).values(updated_at=now)
    )
    return override_id


async def delete_override(
    session: AsyncSession,
    schedule_name: str,
    override_id: int,
    *,
    now: datetime,
    only_by: str | None = None,
) -> bool:
    """Remove one override; False if the schedule has no override with that id.
    ``NotFound`` if there is no such schedule; with ``only_by``, ``Forbidden``
    unless that actor made the override."""
    schedule_id = await _schedule_id(session, schedule_name)
    o = overrides_table.c
    found = (
        await session.execute(
            select(o.id, o.created_by)
            .where(o.id == override_id, o.schedule_id == schedule_id)
            .with_for_update()
        )
    ).first()
    if found is None:
        return False
    if only_by is not None and found.created_by != only_by:
        made_by = repr(found.created_by) if found.created_by else "an unknown actor"
        raise Forbidden(
            f"override {override_id} was made by {made_by}: removing another's override"
            " needs the config scope"
        )
    await session.execute(delete(overrides_table).where(o.id == override_id))
    await session.execute(
        update(schedules_table).where(schedules_table.c.id == schedule_id).values(updated_at=now)
    )
    return True


async def load_schedule(
    session: AsyncSession, name: str, *, ending_after: datetime | None = None
) -> rotation.Schedule | None:
    """The computable schedule (layers and overrides), or None if there is none.
    ``ending_after`` leaves out overrides that are over by then."""
    row = await get_schedule(session, name)
    if row is None:
        return None
    overrides = await list_overrides(session, row.id, ending_after=ending_after)
    return to_rotation(row._mapping, [_override(x) for x in overrides])


async def _load_schedules(
    session: AsyncSession, names: Sequence[str] | None, *, ending_after: datetime | None
) -> dict[str, rotation.Schedule]:
    s, o = schedules_table.c, overrides_table.c
    stmt = select(schedules_table).order_by(s.name)
    if names is not None:
        if not names:
            return {}
        stmt = stmt.where(s.name.in_(sorted(set(names))))
    rows = list(await session.execute(stmt))
    if not rows:
        return {}
    ostmt = select(overrides_table).where(o.schedule_id.in_([row.id for row in rows]))
    if ending_after is not None:
        ostmt = ostmt.where(o.ends_at > ending_after)
    by_schedule: dict[int, list[rotation.Override]] = {}
    for x in await session.execute(ostmt.order_by(o.id)):
        by_schedule.setdefault(x.schedule_id, []).append(_override(x))
    return {row.name: to_rotation(row._mapping, by_schedule.get(row.id, ())) for row in rows}


async def oncall_now(
    session: AsyncSession, schedule_names: list[str], at: datetime
) -> dict[str, rotation.OnCall]:
    """Who is on call at ``at`` on each named schedule that exists (two queries)."""
    schedules = await _load_schedules(session, schedule_names, ending_after=at)
    return {name: rotation.who_is_on_call(s, at) for name, s in schedules.items()}


async def oncall_everywhere(session: AsyncSession, at: datetime) -> dict[str, rotation.OnCall]:
    """Who is on call at ``at`` on every schedule, by schedule name (sorted)."""
    schedules = await _load_schedules(session, None, ending_after=at)
    return {name: rotation.who_is_on_call(s, at) for name, s in schedules.items()}


def stretch_warnings(
    schedule: rotation.Schedule, start: datetime, end: datetime | None = None
) -> list[str]:
    """Everyone on call without a break for longer than the playbook's 7 days within
    ``[start, end)`` (default: :data:`WARNING_HORIZON` from ``start``), measured in
    the schedule's wall-clock time."""
    shifts = rotation.render_shifts(schedule, start, end or start + WARNING_HORIZON)
    return rotation.consecutive_oncall_warnings(
        shifts, CONSECUTIVE_LIMIT, time_zone=schedule.time_zone
    )


# --------------------------------------------------------------------------------------
# Escalation policies
# --------------------------------------------------------------------------------------


def _policy_targets(spec: PolicySpec) -> tuple[set[str], set[str]]:
    responders = {who for step in spec.steps for who in step.targets.responders}
    schedules = {name for step in spec.steps for name in step.targets.schedules}
    return responders, schedules


async def existing_schedules(session: AsyncSession, names: Iterable[str]) -> set[str]:
    wanted = sorted(set(names))
    if not wanted:
        return set()
    s = schedules_table.c
    return set((await session.execute(select(s.name).where(s.name.in_(wanted)))).scalars())


async def upsert_policy(session: AsyncSession, spec: PolicySpec, *, now: datetime) -> Change:
    responders, schedules = _policy_targets(spec)
    await _require_responders(session, responders, f"policy {spec.name!r}")
    missing = schedules - await existing_schedules(session, schedules)
    if missing:
        raise KlaxonError(f"policy {spec.name!r}: unknown schedule {_names(missing)}")
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
    if existing is None:
        await session.execute(
            insert(policies_table).values(name=spec.name, created_at=now, updated_at=now, **values)
        )
        return Change.CREATED
    if all(getattr(existing, key) == value for key, value in values.items()):
        return Change.UNCHANGED
    await session.execute(
        update(policies_table).where(p.id == existing.id).values(updated_at=now, **values)
    )
    return Change.UPDATED


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
