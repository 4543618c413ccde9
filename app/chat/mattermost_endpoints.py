"""Mattermost's requests: slash commands and the card's buttons.

A custom slash command posts a form (``token``, ``team_id``, ``channel_id``,
``user_id``, ``command``, ``text``, ``response_url``, ``trigger_id``) with the
command's own token; a request whose token is not one of
``KLAXON_MATTERMOST_COMMAND_TOKENS`` (compared in constant time) is a 401 and
changes nothing. A button press is Mattermost's integration action: JSON with
the presser's ``user_id`` and the ``context`` the card gave the button, whose
HMAC (app/chat/mattermost.py) must match, or it is a 401.

The same commands as in Slack (app/chat/commands.py), acted on as the
responder whose ``mattermost_user_id`` the user is, in one transaction, once
per request (its ``trigger_id`` makes each body unique); anyone else is
refused politely and nothing changes. The card follows through the outbound
queue; the presser is told the outcome in an ephemeral message.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import mattermost_dialog
from app.chat.endpoints import (
    ACTIONS,
    AGAIN,
    DECLARE_USAGE,
    _as_responder,
    command_work,
    declare_work,
)
from app.chat.identity import mattermost_refusal, mattermost_responder
from app.chat.mattermost import sign
from app.db import read_done
from app.deps import RuntimeDep, SessionDep
from app.errors import KlaxonError, Unauthorized
from app.http import read_body
from app.runtime import Runtime

router = APIRouter(prefix="/api/v1/chat/mattermost", tags=["chat"])

REQUEST_LIMIT = 64 * 1024
REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not Mattermost's: a wrong command token or button signature"}
}
#: A button press or a dialog submission: a JSON object, else a 400 naming what it is.
JSON_REFUSED: dict[int | str, dict[str, Any]] = {
    **REFUSED,
    400: {"description": "The body is not a JSON object"},
    413: {"description": "Body over the size limit"},
}


async def _json_object(request: Request) -> tuple[bytes, dict[str, Any]]:
    """The body as read, and the JSON object it holds."""
    body = await read_body(request, REQUEST_LIMIT)
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise KlaxonError("the body is not JSON", status_code=400) from None
    if not isinstance(payload, dict):
        raise KlaxonError("the body is not a JSON object", status_code=400)
    return body, payload


class MattermostCommandAnswer(BaseModel):
    """What Mattermost shows the user who ran the command (only them: ``ephemeral``)."""

    response_type: Literal["ephemeral", "in_channel"] = "ephemeral"
    text: str = Field(examples=["#42 acknowledged"])


class MattermostActionAnswer(BaseModel):
    """The answer to a button press: a message only the presser sees."""

    ephemeral_text: str = Field(examples=["#42 acknowledged"])


def _token_ok(runtime: Runtime, token: str) -> bool:
    tokens = [t.strip() for t in runtime.settings.mattermost_command_tokens.split(",")]
    good = [t for t in tokens if t]
    # Every token is compared, so the time taken says nothing of which one nearly matched.
    matches = [hmac.compare_digest(token.encode(), t.encode()) for t in good]
    return any(matches)


async def _as_mattermost_user(runtime: Runtime, body: bytes, user: str, work: Any) -> str:
    return await _as_responder(
        runtime,
        b"mattermost:" + body,
        user,
        work,
        find=mattermost_responder,
        refuse=mattermost_refusal,
    )


@router.post("/commands", response_model=MattermostCommandAnswer, responses=REFUSED)
async def mattermost_command(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> MattermostCommandAnswer:
    """A custom slash command as Mattermost posts it (form-encoded, with the
    command's token): ``/incident …``, ``/oncall …``, ``/postmortem …``."""
    body = await read_body(request, REQUEST_LIMIT)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not _token_ok(runtime, form.get("token", "")):
        raise Unauthorized("not a Mattermost slash command of this Klaxon: wrong or no token")
    command, text = form.get("command", ""), form.get("text", "")
    channel, now = form.get("channel_id", ""), runtime.clock.now()
    if command == "/incident" and text.strip().lower() == "declare":
        return MattermostCommandAnswer(text=await _open_declare_dialog(session, runtime, form))

    work = command_work(runtime, command, text, channel=channel, now=now, via="mattermost")

    answer = await _as_mattermost_user(runtime, body, form.get("user_id", ""), work)
    if command == "/postmortem" and answer.startswith("Post-mortem of #"):
        return MattermostCommandAnswer(response_type="in_channel", text=answer)
    return MattermostCommandAnswer(text=answer)


def _pressed(runtime: Runtime, payload: dict[str, Any]) -> tuple[str, int]:
    """The button and incident of a press whose context Klaxon signed; else a 401."""
    context: dict[str, Any] = payload["context"] if isinstance(payload.get("context"), dict) else {}
    action, incident, sig = context.get("action"), context.get("incident"), context.get("sig")
    secret = runtime.settings.mattermost_action_secret
    if not secret:
        raise Unauthorized("Mattermost buttons are not configured here")
    if action not in ACTIONS or not isinstance(incident, int) or not isinstance(sig, str):
        raise Unauthorized("not a Klaxon button: no signed action and incident in its context")
    if not hmac.compare_digest(sig.encode(), sign(secret, str(action), incident).encode()):
        raise Unauthorized("the button's context is not signed by this Klaxon")
    return str(action), incident


@router.post("/actions", response_model=MattermostActionAnswer, responses=JSON_REFUSED)
async def mattermost_action(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> MattermostActionAnswer:
    """A card's button pressed (Mattermost's integration action: JSON with the
    presser's ``user_id`` and the button's signed ``context``)."""
    body, payload = await _json_object(request)
    name, number = _pressed(runtime, payload)
    now = runtime.clock.now()

    async def work(session: AsyncSession, by: Any) -> str:
        answer: str = await ACTIONS[name](session, number, by, "mattermost", now)
        return answer

    user = str(payload.get("user_id", ""))
    return MattermostActionAnswer(
        ephemeral_text=await _as_mattermost_user(runtime, body, user, work)
    )


async def _open_declare_dialog(
    session: AsyncSession, runtime: Runtime, form: dict[str, str]
) -> str:
    """Open the declare dialog for the user who typed ``/incident declare``."""
    user = form.get("user_id", "")
    if await read_done(session, mattermost_responder(session, user)) is None:
        return mattermost_refusal(user)
    settings = runtime.settings
    if not (settings.mattermost_cards_enabled and settings.mattermost_action_secret):
        return "Klaxon cannot open forms in Mattermost here, so: " + DECLARE_USAGE
    state = mattermost_dialog.state_for(
        settings.mattermost_action_secret, user, form.get("channel_id", "")
    )
    why = await mattermost_dialog.open_dialog(settings, form.get("trigger_id", ""), state)
    if why is not None:
        return f"Could not open the form (Mattermost dialogs/open: {why}): {DECLARE_USAGE}"
    return "Fill in the form to declare the incident."


class MattermostDialogAnswer(BaseModel):
    """The answer to a dialog's submission: ``{}`` closes it; ``errors`` shows
    each message under its element; ``error`` at the bottom of the dialog."""

    errors: dict[str, str] | None = None
    error: str | None = None


@router.post(
    "/dialogs",
    response_model=MattermostDialogAnswer,
    response_model_exclude_none=True,
    responses=JSON_REFUSED,
)
async def mattermost_dialog_submission(
    request: Request, runtime: RuntimeDep, session: SessionDep
) -> MattermostDialogAnswer:
    """The declare dialog submitted (Mattermost's ``dialog_submission``: JSON
    with the submitter's ``user_id``, the ``state`` Klaxon signed, and the
    values by element name in ``submission``)."""
    body, payload = await _json_object(request)
    user, state = str(payload.get("user_id", "")), str(payload.get("state", ""))
    if not mattermost_dialog.state_ok(runtime.settings.mattermost_action_secret or "", user, state):
        raise Unauthorized("not a Klaxon dialog: its state is not signed for this user")
    if payload.get("cancelled") or payload.get("callback_id") != mattermost_dialog.CALLBACK_ID:
        return MattermostDialogAnswer()
    submission = payload["submission"] if isinstance(payload.get("submission"), dict) else {}
    report, impact, errors = mattermost_dialog.submitted(submission)
    if report is None:
        return MattermostDialogAnswer(errors=errors)
    work = declare_work(runtime, report, impact)
    answer = await _as_mattermost_user(runtime, body, user, work)
    if answer.startswith("Declared #") or answer == AGAIN:
        return MattermostDialogAnswer()
    return MattermostDialogAnswer(error=answer[:300])
