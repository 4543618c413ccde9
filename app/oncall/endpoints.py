"""The on-call JSON API: responders, schedules and overrides, who is on call,
escalation policies, and the whole on-call document at once.

Changing who gets paged (responders, phones, schedules, policies, the document)
needs the ``config`` scope; ``write`` may take a shift (add an override,
recorded with the token's name) and remove the overrides it made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
from app.errors import Forbidden, KlaxonError, NotFound
from app.escalation.policy import SILENCE_ON_ACK, AckRule, PolicySilence, PolicySpec, Step
from app.instants import Instant
from app.oncall import document, rotation, store
from app.oncall.public import (
    ApplyResult,
    ItemChangePublic,
    OnCallPublic,
    OnCallResponder,
    OverridePublic,
    ResponderPublic,
    ScheduleDetail,
    SchedulePublic,
    ShiftPublic,
    ShiftsPublic,
)
from app.oncall.schemas import (
    RESPONDER_NAME_PATTERN,
    SCHEDULE_NAME_PATTERN,
    LayerSpec,
    OnCallConfig,
    OverrideSpec,
    ResponderBody,
    ScheduleBody,
)

router = APIRouter(prefix="/api/v1", tags=["oncall"])
T = TypeVar("T")

#: The default and the longest range of ``GET /schedules/{name}/shifts``.
DEFAULT_SHIFTS_RANGE = timedelta(days=14)
MAX_SHIFTS_RANGE = timedelta(days=366)

ResponderPath = Annotated[str, Path(min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN)]
SchedulePath = Annotated[str, Path(min_length=1, max_length=200, pattern=SCHEDULE_NAME_PATTERN)]
PolicyPath = Annotated[str, Path(min_length=1, max_length=200, pattern=SCHEDULE_NAME_PATTERN)]
AtQuery = Annotated[
    Instant | None,
    Query(description="An instant with its UTC offset (ISO 8601); default now"),
]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}
BAD_REFERENCE: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown responder or schedule, or the name differs from the path"}
}


class PolicyBody(BaseModel):
    """An escalation policy for ``PUT /escalation-policies/{name}``: the name comes
    from the path."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    steps: list[Step] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10)
    ack: AckRule = Field(
        default="anyone",
        description="Who may acknowledge or resolve by SMS or call: any responder, or only"
        " those paged for the incident (API tokens always may)",
    )
    silence_on_ack: PolicySilence = Field(default=None, description=SILENCE_ON_ACK)


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _same_name(body_name: str | None, path_name: str, what: str) -> None:
    if body_name is not None and body_name != path_name:
        raise KlaxonError(f"the body names {what} {body_name!r} but the path {path_name!r}")


def _validated(build: Callable[..., T], *args: Any) -> T:
    """``build(*args)``, its validation errors answered as a 422 about the body."""
    try:
        return build(*args)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from exc


def _override_public(row: Any) -> OverridePublic:
    return OverridePublic(
        id=row.id,
        start=row.starts_at,
        end=row.ends_at,
        responder=row.responder,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def _admin_needs_admin_scope(flags: list[bool | None], principal: Principal) -> None:
    """Making someone a console admin hands them the admin pages (tokens of any
    scope): only an admin-scope token may set the flag, not a config one."""
    if any(flag is not None for flag in flags) and not principal.allows("admin"):
        raise Forbidden("setting a responder's admin flag needs an admin-scope token")


def _responder_public(row: Any, principal: Principal) -> ResponderPublic:
    return ResponderPublic(
        name=row.name,
        phone=principal.shown_phone(row.phone),
        time_zone=row.time_zone,
        created_at=row.created_at,
        updated_at=row.updated_at,
        slack_user_id=row.slack_user_id,
        mattermost_user_id=row.mattermost_user_id,
    )


async def _schedule_detail(session: SessionDep, name: str, now: datetime) -> ScheduleDetail:
    row = await store.get_schedule(session, name)
    if row is None:
        raise NotFound(f"no schedule {name!r}")
    overrides = await store.list_overrides(session, row.id, ending_after=now)
    schedule = await store.load_schedule(session, name, ending_after=now)
    assert schedule is not None
    return ScheduleDetail(
        name=row.name,
        time_zone=row.time_zone,
        layers=[LayerSpec.model_validate(layer) for layer in row.layers],
        services=row.services,
        created_at=row.created_at,
        updated_at=row.updated_at,
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


# --------------------------------------------------------------------------------------
# Responders
# --------------------------------------------------------------------------------------


@router.put(
    "/responders/{name}",
    response_model=ResponderPublic,
    responses={
        201: {"description": "Created"},
        403: {"description": "Sets `admin` without an admin-scope token"},
        409: {"description": "Phone in use"},
        **BAD_REFERENCE,
    },
)
async def put_responder(
    name: ResponderPath,
    body: ResponderBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
) -> ResponderPublic:
    """Create or replace a responder (201 when created). The phone is normalized to E.164."""
    _same_name(body.name, name, "responder")
    _admin_needs_admin_scope([body.admin], principal)
    change = await store.upsert_responder(tx.session, body.with_name(name), now=runtime.clock.now())
    if change is store.Change.CREATED:
        response.status_code = 201
    return await get_responder(name, tx.session, principal)


@router.get("/responders", response_model=list[ResponderPublic])
async def list_responders(session: SessionDep, principal: ReadPrincipal) -> list[ResponderPublic]:
    return [_responder_public(r, principal) for r in await store.list_responders(session)]


@router.get("/responders/{name}", response_model=ResponderPublic, responses=NOT_FOUND)
async def get_responder(
    name: str, session: SessionDep, principal: ReadPrincipal
) -> ResponderPublic:
    row = await store.get_responder(session, name)
    if row is None:
        raise NotFound(f"no responder {name!r}")
    return _responder_public(row, principal)


# --------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------


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
    _same_name(body.name, name, "schedule")
    spec = _validated(body.with_name, name)
    now = runtime.clock.now()
    change = await store.upsert_schedule(tx.session, spec, now=now, by=principal.name)
    if change is store.Change.CREATED:
        response.status_code = 201
    return await _schedule_detail(tx.session, name, now)


@router.get("/schedules", response_model=list[SchedulePublic])
async def list_schedules(session: SessionDep, _: ReadPrincipal) -> list[SchedulePublic]:
    return [
        SchedulePublic(
            name=row.name,
            time_zone=row.time_zone,
            layers=[LayerSpec.model_validate(layer) for layer in row.layers],
            services=row.services,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in await store.list_schedules(session)
    ]


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


# --------------------------------------------------------------------------------------
# Escalation policies
# --------------------------------------------------------------------------------------


@router.put(
    "/escalation-policies/{name}",
    response_model=PolicySpec,
    # A paging step reads as before action steps existed (no run: null, wait: null).
    response_model_exclude_none=True,
    responses={201: {"description": "Created"}, **BAD_REFERENCE},
)
async def put_policy(
    name: PolicyPath,
    body: PolicyBody,
    response: Response,
    tx: Transaction,
    runtime: RuntimeDep,
    _: ConfigPrincipal,
) -> PolicySpec:
    """Create or replace an escalation policy (201 when created); its target
    schedules and responders must exist."""
    _same_name(body.name, name, "policy")
    spec = _validated(
        PolicySpec.model_validate,
        {
            "name": name,
            "steps": [s.model_dump() for s in body.steps],
            "repeat": body.repeat,
            "ack": body.ack,
            "silence_on_ack": body.silence_on_ack,
        },
    )
    unknown = document.unknown_actions([spec], runtime.rules.current)
    if unknown:
        raise KlaxonError("; ".join(unknown))
    change = await store.upsert_policy(tx.session, spec, now=runtime.clock.now())
    if change is store.Change.CREATED:
        response.status_code = 201
    return spec


@router.get(
    "/escalation-policies", response_model=list[PolicySpec], response_model_exclude_none=True
)
async def list_policies(session: SessionDep, _: ReadPrincipal) -> list[PolicySpec]:
    return await store.list_policies(session)


@router.get(
    "/escalation-policies/{name}",
    response_model=PolicySpec,
    response_model_exclude_none=True,
    responses=NOT_FOUND,
)
async def get_policy(name: str, session: SessionDep, _: ReadPrincipal) -> PolicySpec:
    policy = await store.get_policy(session, name)
    if policy is None:
        raise NotFound(f"no escalation policy {name!r}")
    return policy


# --------------------------------------------------------------------------------------
# The whole document
# --------------------------------------------------------------------------------------


@router.post(
    "/oncall-config",
    response_model=ApplyResult,
    responses={
        400: {"description": "Unknown reference, or prune would leave one; nothing written"},
        403: {"description": "Sets a responder's `admin` without an admin-scope token"},
        409: {"description": "Phone in use, or prune would remove what open incidents page"},
    },
)
async def apply_oncall_config(
    body: OnCallConfig,
    tx: Transaction,
    runtime: RuntimeDep,
    principal: ConfigPrincipal,
    prune: Annotated[
        bool,
        Query(
            description="Also remove the responders, schedules, policies and heartbeats the"
            " document does not name (of each kind it has a key for)"
        ),
    ] = False,
    dry_run: Annotated[bool, Query(description="Answer what would change; write nothing")] = False,
) -> ApplyResult:
    """Apply an on-call document (responders, schedules, policies, heartbeats), like
    ``klaxon apply``: all of it or, on any error, nothing. With ``prune``, what it no
    longer names is removed, unless an open incident pages through it (409, naming
    them) or something kept names it; with ``dry_run``, nothing is written."""
    _admin_needs_admin_scope([r.admin for r in body.responders], principal)
    changes = await document.apply_document(
        tx.session,
        body,
        now=runtime.clock.now(),
        by=principal.name,
        prune_missing=prune,
        rules=runtime.rules.current,
        settings=runtime.settings,
    )
    if dry_run:
        tx.discard()
    return ApplyResult(
        **document.counted(changes),
        dry_run=dry_run,
        changes=[ItemChangePublic(kind=c.kind, name=c.name, change=c.change) for c in changes],
    )
