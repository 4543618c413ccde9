"""Slack's requests: slash commands and the card's buttons.

Both are form posts that Slack signs (app/chat/verify.py): an unsigned, forged
or older-than-5-minutes request is a 401 and changes nothing. Slack waits 3
seconds for an answer, so the work is the request's own transaction (a few
statements) and the answer is ephemeral text for the user who typed or
clicked; what the channel sees, the card, follows the commit through the
outbound queue (app/chat/cards.py).

A user who is not mapped to a responder is told so politely and nothing
changes. Slack's retries and replays of one command or click (same body: its
``trigger_id`` is unique) are remembered in the transaction that acted, and
act once.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import commands, modal
from app.chat.cards import queue
from app.chat.identity import refusal, responder_for
from app.chat.outcomes import failed
from app.chat.verify import replay_key, signed_body
from app.db import read_done
from app.deps import RuntimeDep, SessionDep
from app.errors import KlaxonError
from app.replies.actions import acknowledge_as, command_as, resolve_as
from app.replies.replays import first_time
from app.response.declare import open_reported_incident
from app.response.triage import update_triage
from app.runtime import Runtime
from app.statuspage.cache import status_cache
from app.transaction import unit_of_work

router = APIRouter(prefix="/api/v1/chat/slack", tags=["chat"])

SIGNED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed by Slack, or signed more than 5 minutes ago"}
}
AGAIN = "Already done: Slack sent this again, and it acted the first time."
RESPOND_DEADLINE = timedelta(minutes=30)  # a response_url is valid for 30 minutes
DECLARE_USAGE = "`/incident declare <title> [SEV1-4] [service:<name>]`"
#: The card's buttons (app/chat/cards.py), each as a phone reply would act.
ACTIONS = {"klaxon_ack": acknowledge_as, "klaxon_resolve": resolve_as, "klaxon_command": command_as}


class SlackAnswer(BaseModel):
    """What Slack shows the user who ran the command (only them: ``ephemeral``)."""

    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    text: str = Field(examples=["#42 acknowledged"])


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def _as_responder(
    runtime: Runtime,
    body: bytes,
    user: str,
    work: Any,
    *,
    find: Any = responder_for,
    refuse: Any = refusal,
) -> str:
    """Run ``work(session, responder)`` in one transaction as the responder
    mapped to ``user`` (by ``find``; else ``refuse(user)``), once per request
    body; the text to answer."""
    try:
        async with unit_of_work(runtime) as uow:
            by = await find(uow.session, user)
            if by is None:
                answer: str = refuse(user)
                return answer
            keep = timedelta(hours=runtime.settings.replay_memory_hours)
            if not await first_time(
                uow.session, [replay_key(body)], now=runtime.clock.now(), keep=keep
            ):
                return AGAIN
            answer = await work(uow.session, by)
            uow.wake()
    except KlaxonError as exc:
        return f"Nothing changed: {exc}"
    return answer


@router.post("/commands", response_model=SlackAnswer, responses=SIGNED)
async def slack_command(request: Request, runtime: RuntimeDep, session: SessionDep) -> SlackAnswer:
    """A slash command as Slack posts it (form-encoded): ``/incident …`` or
    ``/oncall …``. Answers within Slack's 3 seconds with text only the caller sees."""
    body = await signed_body(request, runtime.settings.slack_signing_secret, runtime.clock)
    form = _form(body)
    command, text = form.get("command", ""), form.get("text", "")
    now = runtime.clock.now()
    channel = form.get("channel_id", "")
    if command == "/incident" and text.strip().lower() == "declare":
        return SlackAnswer(text=await _open_declare_form(session, runtime, form))

    work = command_work(runtime, command, text, channel=channel, now=now, via="slack")

    answer = await _as_responder(runtime, body, form.get("user_id", ""), work)
    if command == "/incident" and text.split()[:1] in (["publish"], ["public"]):
        status_cache(request).invalidate()  # the page reads the publication afresh
    if command == "/postmortem" and answer.startswith("Post-mortem of #"):
        return SlackAnswer(response_type="in_channel", text=answer)  # the link, for all
    return SlackAnswer(text=answer)


def command_work(
    runtime: Runtime, command: str, text: str, *, channel: str, now: Any, via: str
) -> Any:
    """What a slash command does, as ``work(session, responder)`` for :func:`_as_responder`."""

    async def work(session: AsyncSession, by: Any) -> str:
        return await commands.run(
            session,
            runtime.rules.current,
            command,
            text,
            by=by,
            now=now,
            channel=channel,
            base_url=runtime.settings.callback_url,
            via=via,
        )

    return work


def _action(payload: dict[str, Any]) -> tuple[str, int] | None:
    """The first Klaxon button pressed in a ``block_actions`` payload."""
    for action in payload.get("actions") or []:
        if not isinstance(action, dict):
            continue
        name, value = action.get("action_id"), str(action.get("value", ""))
        if name in ACTIONS and value.isdigit() and len(value) < 10:
            return str(name), int(value)
    return None


async def _tell(runtime: Runtime, url: str, text: str, body: bytes) -> None:
    """Queue ``text`` to the clicker through ``response_url`` (after commit)."""
    now = runtime.clock.now()
    answer = {"op": "respond", "url": url, "text": text}
    async with unit_of_work(runtime) as uow:
        await queue(
            uow.session, answer, key=f"respond:{replay_key(body)}", now=now, keep=RESPOND_DEADLINE
        )
        uow.wake()


async def _open_declare_form(session: AsyncSession, runtime: Runtime, form: dict[str, str]) -> str:
    """Open the declare modal for the user who typed ``/incident declare``."""
    user = form.get("user_id", "")
    if await read_done(session, responder_for(session, user)) is None:
        return refusal(user)
    settings = runtime.settings
    if not settings.slack_bot_token:
        return "Klaxon has no Slack bot token here, so no form: " + DECLARE_USAGE
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=max(1, math.ceil(settings.slack_timeout)),
    )
    view = modal.declare_view(form.get("channel_id", ""))
    try:
        await client.views_open(trigger_id=form.get("trigger_id", ""), view=view)
    except Exception as exc:
        why = failed("views.open", exc, 0).summary
        return f"Could not open the form ({why}): {DECLARE_USAGE}"
    return "Fill in the form to declare the incident."


def declare_work(runtime: Runtime, report: Any, impact: str | None) -> Any:
    """The work of a submitted declare form, as the responder ``by``: the
    incident opened, its impact noted; answers ``Declared #<n>``."""
    now = runtime.clock.now()

    async def work(session: AsyncSession, by: Any) -> str:
        rules = runtime.rules.current
        number = await open_reported_incident(session, rules, report, by=by.name, now=now)
        if impact is not None:
            await update_triage(session, number, {"impact": impact}, by=by.name, now=now)
        return f"Declared #{number}"

    return work


async def _declare_submitted(runtime: Runtime, body: bytes, payload: dict[str, Any]) -> Response:
    """The declare modal submitted: a field's error under it, or declared and closed."""
    report, impact, errors = modal.submitted(payload["view"])
    if report is None:
        return JSONResponse({"response_action": "errors", "errors": errors})
    user = payload["user"] if isinstance(payload.get("user"), dict) else {}
    work = declare_work(runtime, report, impact)
    answer = await _as_responder(runtime, body, str(user.get("id", "")), work)
    if answer.startswith("Declared #") or answer == AGAIN:
        return Response(status_code=200)  # an empty 200 closes the modal
    return JSONResponse({"response_action": "errors", "errors": {"title": answer[:300]}})


@router.post("/actions", status_code=200, responses=SIGNED)
async def slack_action(request: Request, runtime: RuntimeDep, session: SessionDep) -> Response:
    """A button of an incident card pressed (Slack's interactivity request, a
    form with one field ``payload`` holding JSON). Answers 200 at once; the card
    is updated through the outbound queue, and the presser is told the outcome."""
    body = await signed_body(request, runtime.settings.slack_signing_secret, runtime.clock)
    try:
        payload = json.loads(_form(body).get("payload", ""))
    except ValueError:
        raise KlaxonError("the form field 'payload' is not JSON", status_code=400) from None
    if not isinstance(payload, dict):
        raise KlaxonError("the form field 'payload' is not a JSON object", status_code=400)
    view: dict[str, Any] = payload["view"] if isinstance(payload.get("view"), dict) else {}
    if payload.get("type") == "view_submission" and view.get("callback_id") == modal.CALLBACK_ID:
        return await _declare_submitted(runtime, body, payload)
    pressed = _action(payload) if payload.get("type") == "block_actions" else None
    if pressed is None:
        return Response(status_code=200)  # another interaction: nothing of Klaxon's to do
    name, number = pressed
    user = payload["user"] if isinstance(payload.get("user"), dict) else {}
    now = runtime.clock.now()

    async def work(session: AsyncSession, by: Any) -> str:
        answer: str = await ACTIONS[name](session, number, by, "slack", now)
        return answer

    answer = await _as_responder(runtime, body, str(user.get("id", "")), work)
    url = payload.get("response_url")
    if isinstance(url, str) and url.startswith(("https://", "http://")) and answer != AGAIN:
        await _tell(runtime, url, answer, body)
    return Response(status_code=200)
