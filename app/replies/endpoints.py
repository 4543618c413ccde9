"""Twilio's callbacks: inbound SMS, the voice call's TwiML and keypresses,
and delivery status. Every request must carry a valid X-Twilio-Signature."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from app.deps import RowId, RuntimeDep, SessionDep
from app.errors import NotFound
from app.escalation.engine import page_info
from app.models import incidents_table, notifications_table
from app.notify import twiml
from app.notify.delivery import apply_status
from app.replies.actions import handle_digit, handle_sms
from app.replies.signature import signed_form

router = APIRouter(prefix="/api/v1/twilio", tags=["twilio"])
_XML = "application/xml"
_SIGNED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Missing or invalid X-Twilio-Signature"},
    413: {"description": "A form over 64 KiB"},
    422: {"description": "A value the database cannot store (a NUL character)"},
}
_TWIML: dict[int | str, dict[str, Any]] = {
    **_SIGNED,
    200: {"description": "TwiML", "content": {_XML: {"schema": {"type": "string"}}}},
}


def _form(**fields: str) -> dict[str, Any]:
    """The form Twilio posts (every field a string; others are ignored), for the document."""
    schema = {
        "type": "object",
        "properties": {name: {"type": "string", "description": d} for name, d in fields.items()},
        "additionalProperties": {"type": "string"},
    }
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def _xml(body: str) -> Response:
    return Response(content=body, media_type=_XML)


@router.post(
    "/sms",
    response_class=Response,
    responses=_TWIML,
    openapi_extra=_form(From="The sender's number", Body="The text"),
)
async def inbound_sms(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    """An SMS to Klaxon's number: `42A`, `ack 42`, `A`, `42R`, `AA`..."""
    form = await signed_form(request, runtime.settings)
    async with session.begin():
        reply = await handle_sms(
            session,
            from_number=form.get("From", ""),
            body=form.get("Body", ""),
            now=runtime.clock.now(),
        )
    runtime.wake_engine()
    return _xml(twiml.sms_reply(reply))


async def _voice_notification(session: SessionDep, notification_id: int) -> Any:
    n = notifications_table.c
    row = (
        await session.execute(
            select(notifications_table).where(n.id == notification_id, n.channel == "voice")
        )
    ).first()
    if row is None:
        raise NotFound(f"No call {notification_id}")
    return row


def _voice_url(runtime: RuntimeDep, notification_id: int, suffix: str = "") -> str:
    return (
        f"{runtime.settings.public_url.rstrip('/')}/api/v1/twilio/voice/{notification_id}{suffix}"
    )


@router.post(
    "/voice/{notification_id}",
    response_class=Response,
    responses=_TWIML,
    openapi_extra=_form(CallSid="The call", CallStatus="in-progress"),
)
async def voice_call(
    notification_id: RowId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """The TwiML of a page call: it reads the incident and gathers one digit."""
    await signed_form(request, runtime.settings)
    call = await _voice_notification(session, notification_id)
    incident = (
        await session.execute(
            select(incidents_table).where(incidents_table.c.number == call.incident_number)
        )
    ).one()
    if incident.status != "triggered":
        return _xml(
            twiml.call_result(f"Incident {incident.number} is already {incident.status}. Goodbye.")
        )
    info = await page_info(session, incident)
    return _xml(
        twiml.page_call(
            info,
            gather_action=_voice_url(runtime, notification_id, "/gather"),
            repeat_url=_voice_url(runtime, notification_id),
        )
    )


@router.post(
    "/voice/{notification_id}/gather",
    response_class=Response,
    responses=_TWIML,
    openapi_extra=_form(Digits="The keys pressed"),
)
async def voice_gather(
    notification_id: RowId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """The digit pressed: 4 acknowledges, 6 resolves, star repeats."""
    form = await signed_form(request, runtime.settings)
    digits = form.get("Digits", "")
    if digits == "*":
        return _xml(twiml.redirect(_voice_url(runtime, notification_id)))
    async with session.begin():
        call = await _voice_notification(session, notification_id)
        said = await handle_digit(
            session,
            number=call.incident_number,
            responder_id=call.responder_id,
            digit=digits[:1],
            now=runtime.clock.now(),
        )
    runtime.wake_engine()
    if said == "Unknown choice.":
        return _xml(twiml.redirect(_voice_url(runtime, notification_id)))
    return _xml(twiml.call_result(f"{said}. Goodbye."))


@router.post(
    "/status/{notification_id}",
    status_code=204,
    response_class=Response,
    responses=_SIGNED,
    openapi_extra=_form(
        MessageStatus="An SMS's status",
        CallStatus="A call's status",
        MessageSid="The SMS",
        CallSid="The call",
        ErrorCode="Twilio's error code, when it failed",
    ),
)
async def delivery_status(
    notification_id: RowId, request: Request, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """Twilio's status callback for an SMS or a call."""
    form = await signed_form(request, runtime.settings)
    status = form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus") or ""
    async with session.begin():
        await apply_status(
            session,
            notification_id,
            status,
            sid=form.get("MessageSid") or form.get("CallSid"),
            error_code=form.get("ErrorCode"),
            now=runtime.clock.now(),
        )
    return Response(status_code=204)
