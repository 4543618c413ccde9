"""Webhook endpoints: one per source format."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app.deps import RuntimeDep, WebhookPrincipal
from app.http import parse_json, read_body, validate
from app.metrics import WEBHOOK_LATENCY
from app.pipeline import process
from app.results import IngestResult
from app.sources import alertmanager, episodes, healthcheck

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookAccepted(BaseModel):
    status: str = "accepted"
    alerts: int
    new: int
    repeats: int
    resolved: int
    stale: int
    incidents: list[int]

    @staticmethod
    def response(result: IngestResult) -> Response:
        """The answer as JSON bytes, written here: the route's ``response_model``
        still documents it, but FastAPI's validation and encoding of a returned
        model cost more than the rest of a repeat's answer (issue 13)."""
        body = {
            "status": "accepted",
            "alerts": result.received,
            "new": result.new,
            "repeats": result.repeats,
            "resolved": result.resolved,
            "stale": result.stale,
            "incidents": sorted(result.touched),
        }
        return Response(orjson.dumps(body), media_type="application/json")

    @classmethod
    def of(cls, result: IngestResult) -> WebhookAccepted:
        return cls(
            alerts=result.received,
            new=result.new,
            repeats=result.repeats,
            resolved=result.resolved,
            stale=result.stale,
            incidents=sorted(result.touched),
        )


def _body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_AM_BODY = _body(alertmanager.AmWebhook)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed JSON"},
    401: {"description": "Missing or invalid bearer token"},
    413: {"description": "Body over the size limit"},
    422: {"description": "Payload breaks the schema; detail names the field"},
    503: {
        "description": "Database unavailable, or over the token's rate limit (see Retry-After); "
        "the sender retries"
    },
}


@asynccontextmanager
async def timed(source: str, *, ok: int = 200) -> AsyncIterator[None]:
    """Observe the webhook's latency, labelled by the answer's status code."""
    started = time.perf_counter()
    code = "500"
    try:
        yield
        code = str(ok)
    except RequestValidationError:
        code = "422"
        raise
    except Exception as exc:
        code = str(getattr(exc, "status_code", 500))
        raise
    finally:
        WEBHOOK_LATENCY.labels(source, code).observe(time.perf_counter() - started)


@router.post(
    "/alertmanager",
    response_model=WebhookAccepted,
    openapi_extra={"requestBody": _AM_BODY},
    responses=_RESPONSES,
)
async def alertmanager_webhook(
    request: Request, runtime: RuntimeDep, principal: WebhookPrincipal
) -> Response:
    """Accept Alertmanager's webhook (version 4). Answers 200 only once every
    alert it carried is committed."""
    async with timed(alertmanager.SOURCE):
        body = await read_body(request, runtime.settings.max_body_bytes)
        now = runtime.clock.now()
        payload = validate(alertmanager.AmWebhook, parse_json(body), context={"now": now})
        events = alertmanager.to_events(payload, received_at=now)
        result = await process(runtime, events, actor=principal.acting_as("alertmanager"))
    return WebhookAccepted.response(result)


@router.post(
    "/healthcheck",
    response_model=WebhookAccepted,
    openapi_extra={"requestBody": _body(healthcheck.HealthCheck)},
    responses=_RESPONSES,
)
async def healthcheck_webhook(
    request: Request, runtime: RuntimeDep, principal: WebhookPrincipal
) -> WebhookAccepted:
    """Accept a health check's result: ``down`` (or ``fail``) fires the check's
    alert, ``up`` (or ``ok``) resolves it; ``up`` while nothing fires is accepted
    and changes nothing. Answers 200 only once it is committed."""
    async with timed(healthcheck.SOURCE):
        body = await read_body(request, runtime.settings.max_body_bytes)
        check = validate(healthcheck.HealthCheck, parse_json(body))
        event = healthcheck.to_event(check, received_at=runtime.clock.now())
        events = await episodes.anchor(runtime, [event])
        result = await process(runtime, events, actor=principal.acting_as("healthcheck"))
    return WebhookAccepted.of(result)
