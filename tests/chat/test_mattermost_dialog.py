"""``/incident declare`` alone on Mattermost: the interactive dialog opened
with the command's ``trigger_id``, its submission declared or answered with
errors per element, as Mattermost expects; against the fake Mattermost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.clock import ManualClock
from tests.chat.test_mattermost import MM_IDS, STRANGER, Mm, serve_mattermost
from tests.fakes.mattermost_dialog import submission
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import incident_detail


@pytest.fixture
async def mm(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Mm]:
    async with serve_mattermost(db, fake_twilio, clock) as served:
        yield served


async def _submit(mm: Mm, user: str, values: dict[str, Any], **how: Any) -> httpx.Response:
    url, body = submission(mm.server.dialogs[-1], values, user_id=MM_IDS.get(user, user), **how)
    return await mm.paging.api.post(urlsplit(url).path, json=body)


async def test_the_dialog_declares_with_its_impact(mm: Mm) -> None:
    answer = await mm.say("alice", "/incident", "declare")
    assert answer == "Fill in the form to declare the incident."
    opened = mm.server.dialogs[-1]
    assert opened["trigger_id"], "opened with the command's trigger_id"
    assert opened["url"].endswith("/api/v1/chat/mattermost/dialogs")
    names = [e["name"] for e in opened["dialog"]["elements"]]
    assert names == ["title", "severity", "service", "impact"]
    values = {
        "title": "payments failing",
        "severity": "SEV1",
        "service": "payments",
        "impact": "card payments fail for EU users",
    }
    submitted = await _submit(mm, "alice", values)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json() == {}, "an empty answer closes the dialog"
    detail = await incident_detail(mm.paging, 1)
    assert (detail["title"], detail["severity"], detail["service"]) == (
        "payments failing",
        "SEV1",
        "payments",
    )
    assert detail["impact"] == "card payments fail for EU users"
    again = await _submit(mm, "alice", values)
    assert again.json() == {}
    missing = (await mm.paging.api.get("/api/v1/incidents/2")).status_code
    assert missing == 404, "a submission sent twice declares once"


async def test_missing_fields_are_answered_per_element(mm: Mm) -> None:
    await mm.say("alice", "/incident", "declare")
    submitted = await _submit(mm, "alice", {"severity": "SEV2", "title": "  "})
    assert submitted.status_code == 200
    assert submitted.json() == {"errors": {"title": "Required", "service": "Required"}}
    assert (await mm.paging.api.get("/api/v1/incidents/1")).status_code == 404


async def test_a_forged_or_foreign_submission_is_refused(mm: Mm) -> None:
    assert (await mm.say(STRANGER, "/incident", "declare")).startswith("Sorry")
    assert mm.server.dialogs == [], "no dialog for an unmapped user"
    await mm.say("alice", "/incident", "declare")
    values = {"title": "x down", "severity": "SEV2", "service": "x"}
    url, body = submission(mm.server.dialogs[-1], values, user_id=MM_IDS["bob"])
    other = await mm.paging.api.post(urlsplit(url).path, json=body)
    assert other.status_code == 401, "alice's dialog, submitted as bob"
    body["state"] = body["state"].rsplit(":", 1)[0] + ":" + "0" * 64
    forged = await mm.paging.api.post(urlsplit(url).path, json=body)
    assert forged.status_code == 401
    assert (await mm.paging.api.get("/api/v1/incidents/1")).status_code == 404


async def test_a_dialog_that_cannot_open_is_told(mm: Mm) -> None:
    mm.server.rate_limit_next(1)
    answer = await mm.say("alice", "/incident", "declare")
    assert answer.startswith("Could not open the form (Mattermost dialogs/open: 429")
    assert "/incident declare <title>" in answer
