"""An incident's own Mattermost channel (SEV1/SEV2 by default): made with its
responders and role holders, its header kept current, the incident's events
posted there, archived a setting after resolve, no second one when an answer
is lost; against the fake Mattermost on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.clock import ManualClock
from tests.chat.test_mattermost import COMMAND_TOKEN, MM_IDS, Mm, serve_mattermost
from tests.fakes.mattermost_server import command_form
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import checkout_alert, incident_detail, open_incident

NAME = "inc-1-checkout-errors"


@pytest.fixture
async def mm(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Mm]:
    async with serve_mattermost(db, fake_twilio, clock) as served:
        yield served


def _sev1() -> dict[str, object]:
    return checkout_alert(alertname="DatabaseDown", env="prod")


async def test_the_channel_is_made_told_and_archived(mm: Mm) -> None:
    number = await open_incident(mm.paging, _sev1())
    await mm.paging.tick()
    channel = mm.server.made[NAME]
    assert mm.server.members[channel] == {MM_IDS["alice"]}, "the paged responder"
    assert mm.server.headers[channel] == f"SEV1 · Triggered · #{number} checkout errors"
    await mm.say("alice", "/incident", f"role ic @bob #{number}")
    await mm.paging.tick()
    assert mm.server.members[channel] == {MM_IDS["alice"], MM_IDS["bob"]}, "the new commander"
    assert mm.server.headers[channel].endswith(" · IC: bob")
    await mm.say("bob", "/incident", f"update #{number} identified rollback started")
    await mm.paging.tick()
    posts = mm.server.posts_in(channel)
    assert "Status update (Identified): rollback started" in posts
    assert any("bob" in p and "command" in p.lower() for p in posts), posts
    assert await mm.say("bob", "/incident", f"resolve #{number}") == f"#{number} resolved"
    await mm.paging.tick()
    assert mm.server.headers[channel].startswith("SEV1 · Resolved by bob")
    await mm.paging.tick(minutes=1439)
    assert mm.server.archived == set(), "not before the day is out"
    await mm.paging.tick(minutes=2)
    assert mm.server.archived == {channel}
    timeline = (await incident_detail(mm.paging, number))["timeline"]
    assert any(e["message"] == f"Mattermost channel ~{NAME} archived" for e in timeline)


async def test_a_name_in_use_gets_a_suffix(mm: Mm) -> None:
    mm.server.made[NAME] = "someoneelsesxxxxxxxxxxxxxx"
    await open_incident(mm.paging, _sev1())
    await mm.paging.tick()
    assert f"{NAME}-2" in mm.server.made
    assert mm.server.members[mm.server.made[f"{NAME}-2"]] == {MM_IDS["alice"]}


async def test_a_lost_create_answer_makes_no_second_channel(mm: Mm) -> None:
    mm.server.lose_next_answer("POST /api/v4/channels")
    await open_incident(mm.paging, _sev1())
    await mm.paging.tick()
    assert list(mm.server.made) == [NAME], "made, but Klaxon heard a 500"
    await mm.paging.tick(seconds=10)  # the retry
    assert list(mm.server.made) == [NAME], "found by its stored name, not made again"
    channel = mm.server.made[NAME]
    assert mm.server.members[channel] == {MM_IDS["alice"]}
    looked = [c["path"] for c in mm.server.calls if "/channels/name/" in c["path"]]
    assert looked == [f"/api/v4/teams/{mm.server.team}/channels/name/{NAME}"]


async def test_lower_severities_get_no_channel(mm: Mm) -> None:
    number = await open_incident(mm.paging, checkout_alert(severity="warning"))
    await mm.paging.tick()
    assert (await incident_detail(mm.paging, number))["severity"] not in ("SEV1", "SEV2")
    assert mm.server.made == {}
    assert len(mm.server.card_posts()) == 1


async def test_the_status_text_names_the_channel(mm: Mm) -> None:
    await open_incident(mm.paging, _sev1())
    await mm.paging.tick()
    await mm.say("alice", "/incident", "update #1 identified rollback started")
    latest = await mm.paging.api.get("/api/v1/incidents/1/updates/latest?format=text")
    assert latest.text.splitlines()[-1] == f"Updates: ~{NAME} (Mattermost)"


async def test_a_command_in_the_channel_needs_no_number(mm: Mm) -> None:
    number = await open_incident(mm.paging, _sev1())
    other = await open_incident(mm.paging, checkout_alert("c0ffee0000000002", severity="warning"))
    await mm.paging.tick()
    assert other != number, "two open: the channel says which"
    form = command_form(
        COMMAND_TOKEN,
        "/incident",
        "ack",
        user_id=MM_IDS["alice"],
        channel_id=mm.server.made[NAME],
        response_url="https://mattermost.example.com/hooks/commands/x",
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await mm.paging.api.post(
        "/api/v1/chat/mattermost/commands", content=form, headers=headers
    )
    assert answer.json()["text"] == f"#{number} acknowledged"
