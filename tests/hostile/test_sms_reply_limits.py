"""Klaxon cannot be made to text someone without end: each answer to an inbound
SMS is a paid SMS to whatever number the text claims to come from.

A number that belongs to no responder is never answered. A responder's text
that Klaxon does not understand is answered with help at most 3 times an hour
(app/replies/limits.py); after that the answer is an empty TwiML <Response/>
(200, so Twilio does not retry) until the window has passed. Commands are
always answered. The window follows the runtime clock (a ManualClock here).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from prometheus_client import REGISTRY

from app.replies.grammar import HELP_TEXT
from app.replies.limits import ANSWERS_PER_WINDOW
from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, BOB, Paging

STRANGER, OTHER_STRANGER = "+15557770001", "+15557770002"


def _answer(reply: httpx.Response) -> str | None:
    """The text of the TwiML <Message>, or None for an empty <Response/>."""
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(reply.text)
    assert root.tag == "Response"
    messages = root.findall("Message")
    assert len(messages) <= 1, reply.text
    return messages[0].text if messages else None


def _suppressed(reason: str) -> float:
    value = REGISTRY.get_sample_value("klaxon_sms_replies_suppressed_total", {"reason": reason})
    return value or 0.0


async def _garbage(paging: Paging, phone: str, times: int) -> list[str | None]:
    return [_answer(await paging.sms_reply(phone, f"what is this {i}")) for i in range(times)]


async def test_the_fourth_text_not_understood_within_an_hour_is_not_answered(
    paging: Paging,
) -> None:
    before = _suppressed("over_limit")
    assert await _garbage(paging, ALICE, 4) == [HELP_TEXT] * ANSWERS_PER_WINDOW + [None]
    assert _suppressed("over_limit") == before + 1
    assert paging.fake.messages == [], "answers are TwiML, never REST sends"


async def test_after_the_window_a_number_is_answered_again(paging: Paging) -> None:
    await _garbage(paging, ALICE, ANSWERS_PER_WINDOW)
    await paging.tick(minutes=59, seconds=59)
    assert await _garbage(paging, ALICE, 1) == [None], "still within the hour"
    await paging.tick(seconds=1)
    assert await _garbage(paging, ALICE, 4) == [HELP_TEXT] * ANSWERS_PER_WINDOW + [None]


async def test_numbers_are_counted_separately(paging: Paging) -> None:
    await _garbage(paging, ALICE, ANSWERS_PER_WINDOW + 2)
    assert await _garbage(paging, BOB, 1) == [HELP_TEXT]


async def test_a_number_that_belongs_to_no_responder_is_never_answered(paging: Paging) -> None:
    before = _suppressed("unknown_sender")
    assert await _garbage(paging, STRANGER, 4) == [None] * 4
    assert _answer(await paging.sms_reply(OTHER_STRANGER, "1A")) is None
    assert _suppressed("unknown_sender") == before + 5
    # ...and costs no row: strangers cannot grow the table of counted numbers.
    assert await _garbage(paging, ALICE, 1) == [HELP_TEXT]


async def test_a_command_is_answered_after_the_senders_garbage_was_suppressed(
    paging: Paging,
) -> None:
    payload = am_payload(
        [am_alert("f00d000000000001", service="checkout", severity="critical")],
        group_key="{}:{checkout=f00d}",
    )
    opened = await paging.api.post("/api/v1/webhooks/alertmanager", json=payload)
    assert opened.status_code == 200, opened.text
    number = opened.json()["incidents"][0]
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1, "alice was paged"

    assert (await _garbage(paging, ALICE, ANSWERS_PER_WINDOW + 1))[-1] is None
    assert _answer(await paging.sms_reply(ALICE, f"{number}A")) == f"#{number} acknowledged"
    assert _answer(await paging.sms_reply(ALICE, f"{number}A")) == (
        f"#{number} was already acknowledged by alice"
    )
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "alice")
