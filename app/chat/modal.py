"""The declare form: ``/incident declare`` alone opens a Slack modal (title,
severity, service, impact); submitting it declares the incident.

Slack gives each slash command a ``trigger_id`` that opens a modal for 3
seconds only, so ``views.open`` is called in the request, not through the
outbound queue; a failure there is told to the user, and nothing is declared.
The submission (``view_submission``, on the interactivity URL, signed like any
request) is checked field by field: a bad field is shown under that field
(``response_action: errors``), a good form is declared in the request's
transaction as the responder the user is mapped to, and the empty 200 answer
closes the modal. ``/incident declare <title> …`` with words still declares at
once, without a form.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from app.response.schemas import IncidentReport

CALLBACK_ID = "klaxon_declare"
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
DEFAULT_SEVERITY = "SEV3"
IMPACT_MAX = 2000
#: Which IncidentReport field each input block fills.
_FIELD_BLOCK = {"title": "title", "severity": "severity", "service": "service"}


def _text(label: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": label}


def _option(severity: str) -> dict[str, Any]:
    return {"text": _text(severity), "value": severity}


def _input(
    block_id: str, label: str, element: dict[str, Any], optional: bool = False
) -> dict[str, Any]:
    block = {"type": "input", "block_id": block_id, "label": _text(label), "element": element}
    return {**block, "optional": True} if optional else block


def declare_view(channel: str) -> dict[str, Any]:
    """The modal ``views.open`` shows; ``channel`` (where the command was typed)
    rides along in ``private_metadata``."""
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": channel,
        "title": _text("Declare an incident"),
        "submit": _text("Declare"),
        "close": _text("Cancel"),
        "blocks": [
            _input(
                "title",
                "Title",
                {"type": "plain_text_input", "action_id": "value", "max_length": 200},
            ),
            _input(
                "severity",
                "Severity",
                {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [_option(s) for s in SEVERITIES],
                    "initial_option": _option(DEFAULT_SEVERITY),
                },
            ),
            _input(
                "service",
                "Service",
                {"type": "plain_text_input", "action_id": "value", "max_length": 200},
            ),
            _input(
                "impact",
                "Impact",
                {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": IMPACT_MAX,
                },
                optional=True,
            ),
        ],
    }


def _value(values: dict[str, Any], block: str) -> str | None:
    element = (values.get(block) or {}).get("value") or {}
    if not isinstance(element, dict):
        return None
    if element.get("type") == "static_select":
        option = element.get("selected_option") or {}
        return str(option.get("value")) if isinstance(option, dict) else None
    value = element.get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def submitted(view: dict[str, Any]) -> tuple[IncidentReport | None, str | None, dict[str, str]]:
    """(The report, the impact, errors by block id) from a submitted declare form."""
    state = view.get("state") if isinstance(view.get("state"), dict) else {}
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}
    fields = {name: _value(values, block) for name, block in _FIELD_BLOCK.items()}
    impact = _value(values, "impact")
    errors = {block: "Required" for name, block in _FIELD_BLOCK.items() if not fields[name]}
    if impact is not None and len(impact) > IMPACT_MAX:
        errors["impact"] = f"At most {IMPACT_MAX} characters"
    if errors:
        return None, impact, errors
    try:
        return IncidentReport.model_validate(fields), impact, {}
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "title"
            errors.setdefault(_FIELD_BLOCK.get(name, "title"), error["msg"])
        return None, impact, errors
