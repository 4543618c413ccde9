"""The schedules API: rotations, overrides ("take my shift"), who is on call
and the shifts ahead, with their fatigue warnings (app/oncall/fatigue.py).

Creating or replacing a schedule needs ``config``; ``write`` may add an override
(recorded with the token's name) and remove the overrides it made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth import Principal
from app.deps import (
    ConfigPrincipal,
    ReadPrincipal,
    RowId,
    RuntimeDep,
    SessionDep,
    Transaction,
    WritePrincipal,
)
from app.errors import KlaxonError, NotFound
from app.instants import Instant
from app.oncall import rotation, store
from app.oncall.public import (
    OnCallPublic,
    OnCallResponder,
    OverridePublic,
    ScheduleDetail,
    SchedulePublic,
    ShiftPublic,
    ShiftsPublic,
)
from app.oncall.routing import BAD_REFERENCE, NOT_FOUND, AtQuery, SchedulePath, same_name, validated
from app.oncall.rows import OverrideRow, ScheduleRow
from app.oncall.schemas import LayerSpec, OverrideSpec, ScheduleBody

router = APIRouter(prefix="/api/v1", tags=["oncall"])

#: The default and the longest range of ``GET /schedules/{name}/shifts``.
DEFAULT_SHIFTS_RANGE = timedelta(days=14)
MAX_SHIFTS_RANGE = timedelta(days=366)


def _override_public(row: OverrideRow) -> OverridePublic:
    return OverridePublic(
        id=row.id,
        start=row.starts_at,
        end=row.ends_at,
        responder=row.responder,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _schedule_public(row: ScheduleRow) -> SchedulePublic:
    return SchedulePublic(
        name=row.name,
        time_zone=row.time_zone,
        layers=[LayerSpec.model_validate(layer) for layer in row.layers],
        services=row.services,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _schedule_detail(session: SessionDep, name: str, now: datetime) -> ScheduleDetail:
    row = await store.get_schedule(session, name)
    if row is None:
        raise NotFound(f"no schedule {name!r}")
    overrides = await store.list_overrides(session, row.id, ending_after=now)
    schedule = await store.load_schedule(session, name, ending_after=now)
    assert schedule is not None
    return ScheduleDetail(
        **dict(_schedule_public(row)),
        overrides=[_override_public(o) for o in overrides],
        warnings=store.stretch_warnings(schedule, now),
    )


async def _oncall_public(
    session: SessionDep, answers: dict[str, rotation.OnCall], at: datetime, principal: Principal
) -> list[OnCallPublic]:
    people = await store.get_responders_by_name(
        session, [a.responder for a in answers.values() if a.responder is not None]
    )
    out = []
    for name, answer in answers.items():
        responder = None
        if answer.responder is not None:
            row = people.get(answer.responder)
            responder = OnCallResponder(
                name=answer.responder,
                phone=principal.shown_phone(row.phone) if row is not None else None,
                time_zone=row.time_zone if row is not None else None,
            )
        out.append(
            OnCallPublic(
                schedule=name,
                at=at,
                responder=responder,
                until=answer.until,
                source=answer.source,
            )
        )
    return out


@router.put(
    "/schedules/{name}",
    response_model=ScheduleDetail,
    responses={201: {"description": "Created"}, **BAD_REFERENCE},
)
async def put_schedule(
    name: SchedulePath,
    body: ScheduleBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
) -> ScheduleDetail:
    """Create or replace a schedule (201 when created). Overrides, when the body has
    them, replace the schedule's; without them the stored ones stay. ``warnings``
    name anyone on call for more than 7 days without a break in the next 8 weeks."""
    same_name(body.name, name, "schedule")
    spec = validated(body.with_name, name)
    now = runtime.clock.now()
    change = await store.upsert_schedule(tx.session, spec, now=now, by=principal.name)
    if change is store.Change.CREATED:
        response.status_code = 201
    return await _schedule_detail(tx.session, name, now)


@router.get("/schedules", response_model=list[SchedulePublic])
async def list_schedules(session: SessionDep, _: ReadPrincipal) -> list[SchedulePublic]:
    return [_schedule_public(row) for row in await store.list_schedules(session)]


@router.get("/schedules/{name}", response_model=ScheduleDetail, responses=NOT_FOUND)
async def get_schedule(
    name: str, session: SessionDep, runtime: RuntimeDep, _: ReadPrincipal
) -> ScheduleDetail:
    """A schedule with its current and upcoming overrides and its warnings."""
    return await _schedule_detail(session, name, runtime.clock.now())


@router.post(
    "/schedules/{name}/overrides",
    status_code=201,
    response_model=OverridePublic,
    responses={**NOT_FOUND, **BAD_REFERENCE},
)
async def add_override(
    name: str,
    body: OverrideSpec,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> OverridePublic:
    """Put someone on call over ``[start, end)``, over the layers and earlier
    overrides ("take my shift"); recorded as made by the token's name."""
    now = runtime.clock.now()
    override_id = await store.add_override(tx.session, name, body, now=now, by=principal.name)
    return OverridePublic(
        id=override_id,
        start=body.start,
        end=body.end,
        responder=body.responder,
        created_at=now,
        created_by=principal.name,
    )


@router.delete("/schedules/{name}/overrides/{override_id}", status_code=204, responses=NOT_FOUND)
async def delete_override(
    name: str,
    override_id: RowId,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: WritePrincipal,
) -> Response:
    """Remove an override. A ``write`` token removes only the overrides it made
    (403 otherwise); ``config`` removes any."""
    only_by = None if principal.allows("config") else principal.name
    deleted = await store.delete_override(
        tx.session, name, override_id, now=runtime.clock.now(), only_by=only_by
    )
    if not deleted:
        raise NotFound(f"schedule {name!r} has no override {override_id}")
    return Response(status_code=204)


@router.get("/schedules/{name}/oncall", response_model=OnCallPublic, responses=NOT_FOUND)
async def schedule_oncall(
    name: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ReadPrincipal,
    at: AtQuery = None,
) -> OnCallPublic:
    """Who is on call at ``at`` (default now), and until when."""
    when = at or runtime.clock.now()
    answers = await store.oncall_now(session, [name], when)
    if name not in answers:
        raise NotFound(f"no schedule {name!r}")
    return (await _oncall_public(session, answers, when, principal))[0]


@router.get("/oncall", response_model=list[OnCallPublic])
async def oncall(
    session: SessionDep, runtime: RuntimeDep, principal: ReadPrincipal, at: AtQuery = None
) -> list[OnCallPublic]:
    """Who is on call on every schedule at ``at`` (default now), by schedule name."""
    when = at or runtime.clock.now()
    answers = await store.oncall_everywhere(session, when)
    return await _oncall_public(session, answers, when, principal)


@router.get(
    "/schedules/{name}/shifts",
    response_model=ShiftsPublic,
    responses={**NOT_FOUND, 400: {"description": "Empty range, or longer than 366 days"}},
)
async def schedule_shifts(
    name: str,
    session: SessionDep,
    runtime: RuntimeDep,
    _: ReadPrincipal,
    start: Annotated[
        Instant | None,
        Query(alias="from", description="Range start, with its UTC offset; default now"),
    ] = None,
    end: Annotated[
        Instant | None,
        Query(alias="to", description="Range end, with its UTC offset; default from + 14 days"),
    ] = None,
) -> ShiftsPublic:
    """The effective on-call timeline over ``[from, to)`` (at most 366 days), with
    anyone on call for more than 7 days without a break in it."""
    start = start or runtime.clock.now()
    end = end or start + DEFAULT_SHIFTS_RANGE
    if end <= start:
        raise KlaxonError("'to' must be after 'from'")
    if end - start > MAX_SHIFTS_RANGE:
        raise KlaxonError(
            f"the range from 'from' to 'to' may be at most {MAX_SHIFTS_RANGE.days} days"
        )
    schedule = await store.load_schedule(session, name, ending_after=start)
    if schedule is None:
        raise NotFound(f"no schedule {name!r}")
    shifts = rotation.render_shifts(schedule, start, end)
    return ShiftsPublic.model_validate(
        {
            "schedule": name,
            "from": start,
            "to": end,
            "shifts": [
                ShiftPublic(responder=s.responder, start=s.start, end=s.end, source=s.source)
                for s in shifts
            ],
            "warnings": store.stretch_warnings(schedule, start, end),
        }
    )
