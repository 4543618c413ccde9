"""Schedules and their overrides in the database, and who is on call on them.

Core statements on ``schedules`` and ``schedule_overrides``, inside the caller's
transaction, never committing. A schedule's participants and override
responders must exist (``KlaxonError`` names those that do not; the whole
document, app/apply/, also accepts those it defines). :func:`upsert_schedule` is
idempotent. Who is on call is computed (app/oncall/rotation.py) from what is
stored here, never stored itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Forbidden, NotFound
from app.models import overrides_table, schedules_table
from app.oncall import rotation
from app.oncall.responder_store import require_responders
from app.oncall.rows import Change, OverrideRow, ScheduleRow
from app.oncall.schemas import OverrideSpec, ScheduleSpec, to_rotation


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


async def get_schedule(session: AsyncSession, name: str) -> ScheduleRow | None:
    s = schedules_table.c
    row = (await session.execute(select(schedules_table).where(s.name == name))).first()
    return None if row is None else ScheduleRow.of(row)


async def list_schedules(session: AsyncSession) -> list[ScheduleRow]:
    s = schedules_table.c
    rows = await session.execute(select(schedules_table).order_by(s.name))
    return [ScheduleRow.of(row) for row in rows]


async def list_overrides(
    session: AsyncSession, schedule_id: int, *, ending_after: datetime | None = None
) -> list[OverrideRow]:
    """A schedule's overrides in precedence order (later ones win), optionally only
    those that end after ``ending_after``."""
    o = overrides_table.c
    stmt = select(overrides_table).where(o.schedule_id == schedule_id)
    if ending_after is not None:
        stmt = stmt.where(o.ends_at > ending_after)
    return [OverrideRow.of(row) for row in await session.execute(stmt.order_by(o.id))]


def _override(row: OverrideRow) -> rotation.Override:
    return rotation.Override(start=row.starts_at, end=row.ends_at, responder=row.responder)


def _computable(row: ScheduleRow, overrides: Iterable[rotation.Override]) -> rotation.Schedule:
    stored = {"name": row.name, "time_zone": row.time_zone, "layers": row.layers}
    return to_rotation(stored, overrides)


async def upsert_schedule(
    session: AsyncSession, spec: ScheduleSpec, *, now: datetime, by: str
) -> Change:
    """Create or replace a schedule's time zone, layers and services. Overrides in
    ``spec`` replace the stored ones only when the spec sets them explicitly;
    new ones are recorded as made ``by`` this actor."""
    await require_responders(session, _schedule_responders(spec), f"schedule {spec.name!r}")
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
    await require_responders(session, [spec.responder], f"override on {schedule_name!r}")
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
    return _computable(row, [_override(x) for x in overrides])


async def _load_schedules(
    session: AsyncSession, names: Sequence[str] | None, *, ending_after: datetime | None
) -> dict[str, rotation.Schedule]:
    s, o = schedules_table.c, overrides_table.c
    stmt = select(schedules_table).order_by(s.name)
    if names is not None:
        if not names:
            return {}
        stmt = stmt.where(s.name.in_(sorted(set(names))))
    rows = [ScheduleRow.of(row) for row in await session.execute(stmt)]
    if not rows:
        return {}
    ostmt = select(overrides_table).where(o.schedule_id.in_([row.id for row in rows]))
    if ending_after is not None:
        ostmt = ostmt.where(o.ends_at > ending_after)
    by_schedule: dict[int, list[rotation.Override]] = {}
    for x in await session.execute(ostmt.order_by(o.id)):
        by_schedule.setdefault(x.schedule_id, []).append(_override(OverrideRow.of(x)))
    return {row.name: _computable(row, by_schedule.get(row.id, ())) for row in rows}


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


async def existing_schedules(session: AsyncSession, names: Iterable[str]) -> set[str]:
    wanted = sorted(set(names))
    if not wanted:
        return set()
    s = schedules_table.c
    return set((await session.execute(select(s.name).where(s.name.in_(wanted)))).scalars())
