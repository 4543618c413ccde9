"""The declare form on Mattermost: ``/incident declare`` alone opens an
interactive dialog (title, severity, service, impact); submitting it declares.

Mattermost gives each slash command a ``trigger_id`` that opens a dialog for a
few seconds only, so ``POST /api/v4/actions/dialogs/open`` is called in the
command's request, not through the outbound queue; a failure there is told to
the user and nothing is declared. Mattermost posts the submission
(``type: dialog_submission``, the values under ``submission`` by element name)
to the dialog's ``url`` unsigned, so the dialog's ``state`` carries an HMAC of
the user's id under ``KLAXON_MATTERMOST_ACTION_SECRET`` (:func:`state_for`): a
forged submission, or one replayed by another user, is refused. The values are
checked as Slack's modal's are (app/chat/modal.py); a bad field is answered
``{"errors": {element: message}}``, which Mattermost shows under it, and a good
form is declared as the mapped responder and answered ``{}``, which closes it.
"""

from __future__ import annotations

import hmac
from typing import Any

import httpx

from app.chat import modal
from app.chat.mattermost import sign
from app.response.schemas import IncidentReport
from app.settings import Settings

CALLBACK_ID = modal.CALLBACK_ID
DIALOGS_PATH = "/api/v1/chat/mattermost/dialogs"
TEXT_MAX = 150  # Mattermost's limit for a ``text`` element


def state_for(secret: str, user: str, channel: str) -> str:
    """The dialog's ``state``: the channel, and the HMAC binding it to ``user``."""
    return f"{channel}:{sign(secret, f'declare:{user}', 0)}"


def state_ok(secret: str, user: str, state: str) -> bool:
    channel, _, sig = state.rpartition(":")
    expected = state_for(secret, user, channel).rpartition(":")[2]
    return bool(secret and sig) and hmac.compare_digest(sig.encode(), expected.encode())


def declare_dialog(state: str) -> dict[str, Any]:
    """The dialog ``dialogs/open`` shows."""
    options = [{"text": s, "value": s} for s in modal.SEVERITIES]
    return {
        "callback_id": CALLBACK_ID,
        "title": "Declare an incident",
        "submit_label": "Declare",
        "notify_on_cancel": False,
        "state": state,
        "elements": [
            {"display_name": "Title", "name": "title", "type": "text", "max_length": TEXT_MAX},
            {
                "display_name": "Severity",
                "name": "severity",
                "type": "select",
                "options": options,
                "default": modal.DEFAULT_SEVERITY,
            },
            {"display_name": "Service", "name": "service", "type": "text", "max_length": TEXT_MAX},
            {
                "display_name": "Impact",
                "name": "impact",
                "type": "textarea",
                "optional": True,
                "max_length": modal.IMPACT_MAX,
            },
        ],
    }


def submitted(
    submission: dict[str, Any],
) -> tuple[IncidentReport | None, str | None, dict[str, str]]:
    """(The report, the impact, errors by element name), checked as the Slack
    modal's values are: the submission is handed over in that modal's shape."""
    values = {
        name: {"value": {"type": "plain_text_input", "value": value}}
        for name, value in submission.items()
        if isinstance(value, str)
    }
    return modal.submitted({"state": {"values": values}})


async def open_dialog(settings: Settings, trigger_id: str, state: str) -> str | None:
    """Open the declare dialog; None, or why it could not be opened."""
    url = settings.callback_url + DIALOGS_PATH
    body = {"trigger_id": trigger_id, "url": url, "dialog": declare_dialog(state)}
    headers = {"Authorization": f"Bearer {settings.mattermost_bot_token}"}
    try:
        async with httpx.AsyncClient(
            base_url=str(settings.mattermost_url).rstrip("/"),
            headers=headers,
            timeout=settings.mattermost_timeout,
        ) as client:
            answer = await client.post("/api/v4/actions/dialogs/open", json=body)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}, no answer"
    if answer.status_code == 200:
        return None
    try:
        error = str(answer.json().get("id", ""))
    except ValueError:
        error = ""
    return f"{answer.status_code} {error or 'error'}"
