"""What the escalation tests of who may acknowledge share: a bare checkout
alert (no annotations), the timeline's messages, and what an SMS reply said."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from tests.helpers import am_alert, am_payload
from tests.paging import Paging


def bare_checkout_alert(fp: str = "c0ffee0000000001") -> dict[str, Any]:
    """A critical checkout alert with no annotations, as Alertmanager posts it."""
    return am_payload(
        [am_alert(fp, service="checkout", severity="critical")],
        group_key=f"{{}}:{{checkout={fp}}}",
    )


async def timeline_messages(paging: Paging, number: int) -> list[str]:
    """The incident's timeline, its messages in order."""
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    return [e["message"] for e in detail["timeline"]]


def sms_said(response: Any) -> str | None:
    """The ``<Message>`` of an SMS reply's TwiML answer."""
    node = ET.fromstring(response.text).find("Message")
    return None if node is None else node.text
