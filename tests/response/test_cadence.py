"""The update cadence: when the next status update is due, and the one reminder
of a missed update, driven by the engine with the test's clock."""

from __future__ import annotations

from typing import Any

import pytest

from app.clock import ManualClock
from app.rules import RulesError, parse_rules
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, BOB, CAROL, Paging, serve_paging
from tests.response.helpers import post_update, report, timeline

REMINDER = "a status update was due"


def _reminders(paging: Paging, *phones: str) -> list[str]:
    return [text for phone in phones for text in paging.texts_to(phone) if REMINDER in text]


async def _missed(paging: Paging, number: int) -> list[str]:
    events = await timeline(paging.api, number)
    return [e["message"] for e in events if e["kind"] == "update_missed"]


async def _detail(paging: Paging, number: int) -> dict[str, Any]:
    detail: dict[str, Any] = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    return detail


async def _acknowledged(paging: Paging, severity: str = "SEV1") -> int:
    """A declared checkout incident, acknowledged by alice at once."""
    number: int = (await report(paging.api, service="checkout", severity=severity))["number"]
    acked = await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "alice"})
    assert acked.status_code == 200, acked.text
    await paging.tick()
    return number


async def test_one_reminder_exactly_when_the_update_falls_due(paging: Paging) -> None:
    number = await _acknowledged(paging)
    assert (await _detail(paging, number))["next_update_at"] == "2026-11-26T12:30:00Z"
    assert await paging.engine._seconds_until_due(10_000) == 1800, "the engine wakes for it"
    await paging.tick(minutes=29, seconds=59)
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    await paging.tick(seconds=1)
    assert _reminders(paging, ALICE) == [
        f"[Klaxon] #{number} Payment Service Degraded (SEV 1): a status update was due at"
        " 12:30 UTC. Post one now (every 30 min)."
    ], "alice acknowledged, so she commands"
    await paging.tick(minutes=30)
    await paging.tick(hours=3)
    assert len(_reminders(paging, ALICE, BOB, CAROL)) == 1, "one reminder per missed update"
    assert await _missed(paging, number) == [
        "Status update due at 12:30:00 UTC missed; reminded alice (commander) by SMS"
    ]
    assert (await _detail(paging, number))["next_update_at"] == "2026-11-26T12:30:00Z"


async def test_each_update_starts_the_cadence_again_and_comms_is_reminded(
    paging: Paging,
) -> None:
    number = await _acknowledged(paging)
    put = await paging.api.put(f"/api/v1/incidents/{number}/roles/comms", json={"responder": "bob"})
    assert put.status_code == 200, put.text
    await paging.tick(minutes=20)
    update = await post_update(paging.api, number, "investigating", "Looking")
    assert update["next_update_at"] == "2026-11-26T12:50:00Z"
    assert update["text"].splitlines()[-1] == "Next update: 12:50 UTC"
    await paging.tick(minutes=10)  # 12:30, when it was due before the update
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    await paging.tick(minutes=20)
    assert len(_reminders(paging, BOB)) == 1, "the communications lead is reminded"
    assert _reminders(paging, ALICE) == []
    await post_update(paging.api, number, "identified", "Found it")  # 12:50
    await paging.tick(minutes=30)
    assert len(_reminders(paging, BOB)) == 2, "a new cadence, a new reminder"
    assert await _missed(paging, number) == [
        "Status update due at 12:50:00 UTC missed; reminded bob (communications lead) by SMS",
        "Status update due at 13:20:00 UTC missed; reminded bob (communications lead) by SMS",
    ]


async def test_no_reminder_once_an_update_is_posted_in_time(paging: Paging) -> None:
    number = await _acknowledged(paging, severity="SEV2")
    await paging.tick(minutes=59)
    await post_update(paging.api, number, "monitoring", "Recovering")
    await paging.tick(minutes=59)
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    assert await _missed(paging, number) == []
    assert (await _detail(paging, number))["next_update_at"] == "2026-11-26T13:59:00Z"


async def test_sev3_owes_no_updates(paging: Paging) -> None:
    number = await _acknowledged(paging, severity="SEV3")
    assert (await _detail(paging, number))["next_update_at"] is None
    update = await post_update(paging.api, number, "investigating", "Looking")
    assert "Next update" not in update["text"]
    await paging.tick(hours=5)
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    assert await _missed(paging, number) == []


async def test_a_resolved_incident_gets_no_reminder(paging: Paging) -> None:
    number = await _acknowledged(paging)
    await post_update(paging.api, number, "investigating", "Looking")
    await paging.tick(minutes=10)
    assert (await paging.api.post(f"/api/v1/incidents/{number}/resolve")).status_code == 200
    await paging.tick(hours=2)
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    assert await _missed(paging, number) == []
    assert (await _detail(paging, number))["next_update_at"] is None
    latest = (await paging.api.get(f"/api/v1/incidents/{number}/updates/latest")).json()
    assert "Next update" not in latest["text"], "a resolved incident owes no update"


async def test_a_reminder_held_back_by_the_throttle_is_dropped_once_resolved(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    async with serve_paging(
        db, fake_twilio, clock, throttle_sms=1, throttle_window_minutes=60
    ) as paging:
        number = (await report(paging.api, service="checkout", severity="SEV1"))["number"]
        await paging.tick()
        assert len(paging.texts_to(ALICE)) == 1, "the page takes alice's one SMS an hour"
        await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={"by": "alice"})
        await paging.tick(minutes=30)
        assert await _missed(paging, number), "due, and waiting for the throttle"
        await paging.api.post(f"/api/v1/incidents/{number}/resolve")
        await paging.tick(minutes=40)
        assert _reminders(paging, ALICE) == []
        messages = [e["message"] for e in await timeline(paging.api, number)]
        assert f"Reminder notice to alice not sent: #{number} resolved since" in messages


async def test_with_nobody_to_remind_the_timeline_still_says_it_was_missed(
    paging: Paging,
) -> None:
    number = (await report(paging.api, service="search", severity="SEV1"))["number"]
    await paging.tick(minutes=30)
    assert _reminders(paging, ALICE, BOB, CAROL) == []
    assert await _missed(paging, number) == [
        "Status update due at 12:30:00 UTC missed; nobody to remind"
    ]


def test_the_cadence_comes_from_the_rules_file() -> None:
    rules = parse_rules("update_cadence:\n  SEV1: 15m\n  SEV2: none\n  SEV4: 1h30m\n")
    assert [rules.update_cadence_for(s) for s in ("SEV1", "SEV2", "SEV3", "SEV4")] == [
        900,
        None,
        None,
        5400,
    ]
    defaults = parse_rules("routes: []\n")
    assert defaults.update_cadence_for("SEV1") == 1800
    assert defaults.update_cadence_for("SEV2") == 3600


@pytest.mark.parametrize("bad", ["soon", "30", "0m", "15s"])
def test_a_bad_cadence_is_refused_naming_its_line(bad: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(f"routes: []\nupdate_cadence:\n  SEV1: 30m\n  SEV2: {bad}\n", "rules.yaml")
    assert caught.value.errors == [
        "rules.yaml:4: update_cadence.SEV2: must be a length like 30m, 1h or 1h30m, or none"
    ]
