"""Webhook endpoints: one per source format."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from app.deps import IngestPrincipal, RuntimeDep
from app.http import parse_json, read_body, validate
from app.metrics import WEBHOOK_LATENCY
from app.pipeline import process
from app.sources import alertmanager

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookAccepted(BaseModel):
    status: str = "accepted"
    alerts: int
    new: int
    repeats: int
    resolved: int
    stale: int
    incidents: list[int]


_AM_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": alertmanager.AmWebhook.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        }
    },
}


@router.post(
    "/alertmanager",
    response_model=WebhookAccepted,
    openapi_extra={"requestBody": _AM_BODY},
    responses={
        400: {"description": "Malformed JSON"},
        401: {"description": "Missing or invalid bearer token"},
        413: {"description": "Body over the size limit"},
        422: {"description": "Payload breaks the schema; detail names the field"},
        503: {"description": "Database unavailable; Alertmanager retries"},
    },
)
async def alertmanager_webhook(
    request: Request, runtime: RuntimeDep, principal: IngestPrincipal
) -> WebhookAccepted:
    """Accept Alertmanager's webhook (version 4). Answers 200 only once every
    alert it carried is committed."""
    started = time.perf_counter()
    code = "500"
    try:
        body = await read_body(request, runtime.settings.max_body_bytes)
        payload = validate(alertmanager.AmWebhook, parse_json(body))
        events = alertmanager.to_events(payload, received_at=runtime.clock.now())
        result = await process(runtime, events, actor=f"alertmanager ({principal.name})")
        code = "200"
    except RequestValidationError:
        code = "422"
        raise
    except Exception as exc:
        code = str(getattr(exc, "status_code", 500))
        raise
    finally:
        WEBHOOK_LATENCY.labels("alertmanager", code).observe(time.perf_counter() - started)
    return WebhookAccepted(
        alerts=result.received,
        new=result.new,
        repeats=result.repeats,
        resolved=result.resolved,
        stale=result.stale,
        incidents=sorted(result.touched),
    )
