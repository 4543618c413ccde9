"""What Mattermost posts to a dialog's ``url`` when it is submitted
(``dialog_submission``), built from a dialog the fake Mattermost
(tests/fakes/mattermost_server.py) was asked to open."""

from __future__ import annotations

from typing import Any


def submission(
    opened: dict[str, Any], values: dict[str, Any], *, user_id: str, cancelled: bool = False
) -> tuple[str, dict[str, Any]]:
    """(URL, JSON body) of what Mattermost posts when ``user_id`` submits the
    dialog ``opened`` (a ``dialogs/open`` body) with ``values`` (element name
    to value; an element not in the dialog is not sent)."""
    dialog = opened["dialog"]
    names = {e["name"] for e in dialog["elements"]}
    body = {
        "type": "dialog_submission",
        "callback_id": dialog.get("callback_id", ""),
        "state": dialog.get("state", ""),
        "user_id": user_id,
        "channel_id": "qmd5oqtwoibz8cuzxzg5ekshgr",
        "team_id": "4xp9fdt77pncbef59f4k1qe83o",
        "submission": {} if cancelled else {k: v for k, v in values.items() if k in names},
        "cancelled": cancelled,
    }
    return str(opened["url"]), body
