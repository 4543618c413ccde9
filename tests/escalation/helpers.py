"""What the escalation tests share: a bare checkout alert (no annotations), the
timeline's messages, what an SMS reply said, and a wait for something another
process does (the engine's own process, issue 13)."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any, TypeVar

from tests.helpers import am_alert, am_payload
from tests.paging import Paging

T = TypeVar("T")


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


async def until(check: Callable[[], T], what: str, timeout: float = 60.0) -> T:
    """What ``check`` returns once it is truthy (a page at the fake Twilio, a
    process started), checked every 50 ms for at most ``timeout`` seconds: the
    wait for an event in another process, never for an escalation delay."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = check()
        if found:
            return found
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
