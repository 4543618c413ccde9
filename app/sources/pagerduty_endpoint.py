"""``POST /v2/enqueue``: PagerDuty's Events API v2, answered as PagerDuty answers.

* The ``routing_key`` is a Klaxon ingest token: it authenticates the event (no
  ``Authorization`` header). An unknown one is a 400, as PagerDuty answers an
  invalid routing key, and writes nothing.
* ``202 {"status": "success", "message": "Event processed", "dedup_key": ...}``
  once the event is committed; ``400 {"status": "invalid event", "message":
  "Event object is invalid", "errors": [...]}`` naming each bad field; 413 over
  512 KB; 429 over the token's rate limit (PagerDuty's clients retry it).
* ``trigger`` for an open alert with the same key is a repeat of it;
  ``acknowledge`` acknowledges its incident; ``resolve`` resolves the alert (and
  the incident with its last alert); acknowledge or resolve for a key with no
  open alert is accepted and dropped; after resolution the key opens a new alert.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from app.auth import Principal
from app.deps import RuntimeDep, check_ingest_rate
from app.errors import Conflict, KlaxonError, PayloadTooLarge
from app.http import parse_json, read_body
from app.incidents import lifecycle
from app.models import alerts_table
from app.pipeline import process
from app.runtime import Runtime
from app.sources import episodes, pagerduty
from app.sources.endpoints import timed
from app.transaction import unit_of_work

router = APIRouter(tags=["pagerduty"])
PATH = "/v2/enqueue"


class PdAccepted(BaseModel):
    status: str = "success"
    message: str = "Event processed"
    dedup_key: str


class PdRejected(BaseModel):
    status: str
    message: str
    errors: list[str] = []


class _Refused(KlaxonError):
    """An answer in PagerDuty's shape rather than Klaxon's ``{"detail": ...}``."""

    def __init__(
        self,
        status_code: int,
        *,
        status: str,
        message: str,
        errors: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.body = PdRejected(status=status, message=message, errors=errors or [])
        self.headers = headers

    def response(self) -> JSONResponse:
        content = self.body.model_dump(exclude_defaults=self.status_code == 429)
        return JSONResponse(content, status_code=self.status_code, headers=self.headers)


def _invalid(errors: list[str]) -> _Refused:
    return _Refused(400, status="invalid event", message="Event object is invalid", errors=errors)


def _messages(exc: ValidationError) -> list[str]:
    found = []
    for err in exc.errors(include_url=False, include_context=False):
        where = ".".join(str(part) for part in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if not where:
            found.append(message)
        elif err["type"] == "missing":
            found.append(f"'{where}' is missing or blank")
        else:
            found.append(f"'{where}' is invalid: {message}")
    return found


_REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": pagerduty.PdEvent.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        }
    },
}


#: PagerDuty's refusals, for the OpenAPI document of every PagerDuty route.
PD_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": PdRejected, "description": "Invalid event or routing key; nothing written"},
    413: {"model": PdRejected, "description": "Event over 512 KB"},
    429: {"model": PdRejected, "description": "Over the token's rate limit; retry later"},
    503: {"description": "Database unavailable; retry later"},
}


@router.post(
    PATH,
    status_code=202,
    response_model=PdAccepted,
    openapi_extra={"requestBody": _REQUEST_BODY},
    responses=PD_RESPONSES,
)
async def enqueue(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Accept an event of PagerDuty's Events API v2 (trigger, acknowledge,
    resolve), authenticated by its ``routing_key``: a Klaxon ingest token."""
    try:
        async with timed(pagerduty.SOURCE, ok=202):
            accepted = await _enqueue(request, runtime)
    except _Refused as refused:
        return refused.response()
    return JSONResponse(accepted.model_dump(), status_code=202)


async def read_event(
    request: Request, runtime: Runtime, path: str
) -> tuple[dict[str, Any], Principal]:
    """The event's JSON object and the principal of its ``routing_key`` (an
    ingest token within its rate limit); else :class:`_Refused` as PagerDuty's."""
    try:
        body = await read_body(request, pagerduty.MAX_BODY_BYTES)
    except PayloadTooLarge as exc:
        raise _Refused(
            413, status="invalid event", message="Event object is too large", errors=[exc.message]
        ) from exc
    try:
        data = parse_json(body)
    except KlaxonError as exc:
        raise _invalid([exc.message]) from exc
    if not isinstance(data, dict):
        raise _invalid(["the event must be a JSON object"])
    routing_key = data.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key.strip():
        raise _invalid(["'routing_key' is missing or blank"])
    principal = await runtime.tokens.verify(runtime.sessions, routing_key)
    if principal is None or not principal.allows("ingest"):
        raise _invalid(["'routing_key' is invalid: it is not an active Klaxon ingest token"])
    wait = check_ingest_rate(runtime, routing_key, path)
    if wait is not None:
        raise _Refused(
            429,
            status="throttle event",
            message="Requests for this service are arriving too quickly. Please retry later.",
            headers={"Retry-After": str(wait)},
        )
    return data, principal


async def _enqueue(request: Request, runtime: Runtime) -> PdAccepted:
    data, principal = await read_event(request, runtime, PATH)
    now = runtime.clock.now()
    try:
        event = pagerduty.PdEvent.model_validate(data, context={"now": now})
    except ValidationError as exc:
        raise _invalid(_messages(exc)) from exc

    actor = principal.acting_as("pagerduty")
    if event.event_action == "trigger":
        dedup_key = event.dedup_key or pagerduty.new_dedup_key()
        fired = pagerduty.trigger_event(event, dedup_key, received_at=now)
        await process(runtime, await episodes.anchor(runtime, [fired]), actor=actor)
        return PdAccepted(dedup_key=dedup_key)
    assert event.dedup_key is not None  # checked by the model
    if event.event_action == "resolve":
        resolved = pagerduty.resolve_event(event.dedup_key, received_at=now)
        found = await episodes.anchor(runtime, [resolved])
        if found:
            await process(runtime, found, actor=actor)
    else:
        await _acknowledge(runtime, event.dedup_key, actor=actor)
    return PdAccepted(dedup_key=event.dedup_key)


async def _acknowledge(runtime: Runtime, dedup_key: str, *, actor: str) -> None:
    """Acknowledge the incident of the key's open alert; nothing if none is open
    (or its incident was resolved by hand meanwhile)."""
    a = alerts_table.c
    now = runtime.clock.now()
    async with unit_of_work(runtime) as uow:
        session = uow.session
        numbers: list[Any] = list(
            (
                await session.execute(
                    select(a.incident_number)
                    .where(
                        a.source == pagerduty.SOURCE,
                        a.fingerprint == dedup_key,
                        a.status == "firing",
                        a.incident_number.is_not(None),
                    )
                    .distinct()
                )
            ).scalars()
        )
        for number in sorted(numbers):
            try:
                await lifecycle.acknowledge(
                    session, number, by=actor, via="api", now=now, note="PagerDuty event"
                )
            except Conflict:
                continue  # resolved already: nothing left to acknowledge
        if numbers:
            uow.wake()
