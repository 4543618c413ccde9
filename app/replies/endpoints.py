"""Twilio's callbacks: inbound SMS, the voice call's TwiML and keypresses,
and delivery status. Every request must carry a valid X-Twilio-Signature, and
a text or keypress acts once, however often it is sent (app/replies/replays.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from app.automation import approval
from app.deps import RowId, RuntimeDep, SessionDep, Transaction
from app.errors import NotFound
from app.metrics import REPLAYED_CALLBACKS
from app.models import incidents_table, notifications_table
from app.notify import outbox, twiml
from app.notify.delivery import apply_status
from app.notify.page_info import page_info
from app.replies import replays
from app.replies.actions import bundle_numbers, handle_digit, handle_sms
from app.replies.signature import signed_form
from app.statuspage import subscribers as status_subscribers

log = logging.getLogger(__name__)
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
async def inbound_sms(request: Request, runtime: RuntimeDep, tx: Transaction) -> Response:
    """An SMS to Klaxon's number: `42A`, `ack 42`, `A`, `42R`, `AA`..."""
    form = await signed_form(request, runtime.settings)
    keys = replays.callback_keys(request.headers, signed=[f"sms:{form.get('MessageSid', '')}"])
    settings = runtime.settings
    now = runtime.clock.now()
    if not await _first_time(tx.session, runtime, keys):
        return _xml(twiml.sms_reply(None))
    # YES or STOP from a status page subscriber's number (app/statuspage).
    reply = await status_subscribers.sms_reply(
        tx.session,
        runtime.rules.current.status_page,
        from_number=form.get("From", ""),
        body=form.get("Body", ""),
        now=now,
    )
    if reply is None:
        reply = await handle_sms(
            tx.session,
            from_number=form.get("From", ""),
            body=form.get("Body", ""),
            now=now,
            bare_window=timedelta(minutes=settings.bare_reply_minutes),
            rules=runtime.rules.current,
            settings=settings,
        )
    tx.wake()
    return _xml(twiml.sms_reply(reply))


async def _incident(session: SessionDep, number: int) -> Any:
    return (
        await session.execute(select(incidents_table).where(incidents_table.c.number == number))
    ).one()


async def _first_time(session: SessionDep, runtime: RuntimeDep, keys: list[str]) -> bool:
    """Whether this callback is new; a replay is logged and answered by the caller
    with harmless TwiML (nothing said, nothing done)."""
    keep = timedelta(hours=runtime.settings.replay_memory_hours)
    if await replays.first_time(session, keys, now=runtime.clock.now(), keep=keep):
        return True
    REPLAYED_CALLBACKS.inc()
    log.info("ignored a Twilio callback already acted on (a retry or a replay)")
    return False


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
    return outbox.callback_url(runtime.settings.callback_url, "voice", notification_id) + suffix


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
    inc = incidents_table.c
    numbers = await bundle_numbers(session, call.id) or [call.incident_number]
    rows = {
        row.number: row
        for row in await session.execute(select(incidents_table).where(inc.number.in_(numbers)))
    }
    still_open = [rows[n] for n in numbers if n in rows and rows[n].status == "triggered"]
    if not still_open:
        first = rows[numbers[0]]
        return _xml(
            twiml.call_result(f"Incident {first.number} is already {first.status}. Goodbye.")
        )
    gather_action = _voice_url(runtime, notification_id, "/gather")
    rules = runtime.rules.current
    if len(still_open) > 1:
        infos = [await page_info(session, incident, rules) for incident in still_open]
        return _xml(twiml.bundle_call(infos, gather_action=gather_action))
    offer = await approval.offered(session, still_open[0].number, call.responder_name)
    info = await page_info(session, still_open[0], rules, offer=offer)
    return _xml(
        twiml.page_call(
            info,
            gather_action=gather_action,
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
    notification_id: RowId, request: Request, runtime: RuntimeDep, tx: Transaction
) -> Response:
    """The digit pressed: 4 acknowledges, 6 resolves, star repeats, 2 reads the
    incident's text runbook (when it has one)."""
    form = await signed_form(request, runtime.settings)
    digits = form.get("Digits", "")
    if digits == "*":
        return _xml(twiml.redirect(_voice_url(runtime, notification_id)))
    if digits[:1] == twiml.RUNBOOK_KEY:
        call = await _voice_notification(tx.session, notification_id)
        incident = await _incident(tx.session, call.incident_number)
        info = await page_info(tx.session, incident, runtime.rules.current)
        if info.runbook_text:
            gather = _voice_url(runtime, notification_id, "/gather")
            return _xml(twiml.runbook_call(info, gather_action=gather))
        return _xml(twiml.redirect(_voice_url(runtime, notification_id)))
    digit = digits[:1]
    acting = [f"call:{form.get('CallSid', '')}"] if digit in ("4", "6", twiml.RUN_KEY) else []
    keys = replays.callback_keys(request.headers, signed=acting)
    call = await _voice_notification(tx.session, notification_id)
    if not await _first_time(tx.session, runtime, keys):
        return _xml(twiml.call_result("Your choice was already taken. Goodbye."))
    said = await handle_digit(
        tx.session,
        numbers=await bundle_numbers(tx.session, call.id) or [call.incident_number],
        responder_id=call.responder_id,
        digit=digit,
        now=runtime.clock.now(),
        rules=runtime.rules.current,
    )
    tx.wake()
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
    notification_id: RowId, request: Request, runtime: RuntimeDep, tx: Transaction
) -> Response:
    """Twilio's status callback for an SMS or a call."""
    form = await signed_form(request, runtime.settings)
    status = form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus") or ""
    await apply_status(
        tx.session,
        notification_id,
        status,
        sid=form.get("MessageSid") or form.get("CallSid"),
        error_code=form.get("ErrorCode"),
        now=runtime.clock.now(),
    )
    return Response(status_code=204)
