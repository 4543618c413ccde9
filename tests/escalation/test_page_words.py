"""What a page says, as the phone sees it: the incident's current title first,
the heartbeat that died, a text runbook's first lines in the SMS and read on
request in the call (key 2, offered only when there is one)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from app.notify.texts import gsm7_segments
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import am_alert, am_payload, rules_with_text_runbook
from tests.paging import ALICE, BOB, Paging, checkout_alert, open_incident, serve_paging

DB_RUNBOOK = """\
# Database Connection Pool Exhausted
## Symptoms
- Error: "Too many connections"
## Mitigation
1. Restart the **application** to reset its `pool`
2. Raise max_connections if it happens again
"""


def _spoken(twiml: str) -> str:
    say = ET.fromstring(twiml).find("Gather/Say")
    assert say is not None and say.text is not None, twiml
    return say.text


def _db_pool_alert() -> dict[str, object]:
    alert = am_alert(
        "d0000000000000001",
        alertname="DBPoolExhausted",
        service="checkout",
        severity="critical",
        annotations={"summary": "DB pool exhausted on db-1", "description": "120/120 in use"},
    )
    return am_payload([alert], group_key="{}:{db}")


@pytest.fixture
async def runbook_paging(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Paging]:
    rules = rules_with_text_runbook(
        tmp_path / "rules.yaml", "db-pool", 'alertname="DBPoolExhausted"', DB_RUNBOOK
    )
    async with serve_paging(db, fake_twilio, clock, config=rules) as served:
        yield served


async def test_the_page_opens_with_the_incident_title_then_the_description(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    [sms] = paging.texts_to(ALICE)
    # The incident's title is the alert's summary; the alertname is not the headline.
    assert sms.startswith(f"[Klaxon] SEV2 #{number} checkout errors (checkout): 50% of requests")


async def test_pages_built_after_a_retitle_carry_the_new_title(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert "checkout errors" in paging.texts_to(ALICE)[0]
    retitled = await paging.api.patch(
        f"/api/v1/incidents/{number}", json={"title": "EU card payments declined"}
    )
    assert retitled.status_code == 200, retitled.text

    await paging.tick(minutes=5)  # the secondary: SMS and voice
    [sms] = paging.texts_to(BOB)
    assert sms.startswith(f"[Klaxon] SEV2 #{number} EU card payments declined (checkout): ")
    assert "checkout errors" not in sms and "HighErrorRate" not in sms
    [call] = paging.calls_to(BOB)
    said = await paging.fake.answer_call(call["sid"], None)
    assert "EU card payments declined on checkout." in _spoken(said[0])


async def test_a_heartbeat_page_names_the_heartbeat(paging: Paging) -> None:
    declared = await paging.api.put(
        "/api/v1/heartbeats/nightly-backup",
        json={"interval": 10, "grace": 5, "labels": {"service": "checkout"}},
    )
    assert declared.status_code in (200, 201), declared.text
    assert (await paging.api.post("/api/v1/heartbeats/nightly-backup/ping")).status_code == 200
    await paging.tick(seconds=16)
    await paging.tick()
    [sms] = paging.texts_to(ALICE)
    assert sms.startswith("[Klaxon] SEV2 #1 Heartbeat nightly-backup expired (checkout): ")
    assert "No ping within 10s + 5s grace" in sms


async def test_a_text_runbook_reaches_the_sms_within_two_segments(
    runbook_paging: Paging,
) -> None:
    number = await open_incident(runbook_paging, _db_pool_alert())
    await runbook_paging.tick()
    [sms] = runbook_paging.texts_to(ALICE)
    assert sms == (
        f"[Klaxon] SEV2 #{number} DB pool exhausted on db-1 (checkout): 120/120 in use. "
        'Runbook: Symptoms / - Error: "Too many connections" / Mitigation / 1. Restart '
        "the application to reset its pool / 2. Raise max_connections if it happens again. "
        f"Reply {number}A to ack, {number}R to resolve."
    )
    assert gsm7_segments(sms) <= 2


async def test_key_2_reads_the_text_runbook_then_offers_the_keys_again(
    runbook_paging: Paging,
) -> None:
    number = await open_incident(runbook_paging, _db_pool_alert())
    await runbook_paging.tick()
    await runbook_paging.tick(minutes=5)
    [call] = runbook_paging.calls_to(BOB)
    said = await runbook_paging.fake.answer_call(call["sid"], ["2", "4"])
    page, runbook, result = said
    assert _spoken(page).endswith(
        "Press 4 to acknowledge, 6 to resolve, 2 to hear the runbook, star to repeat."
    )
    assert _spoken(runbook) == (
        f"Runbook for incident {number}. Symptoms. Error: Too many connections. Mitigation. "
        "1. Restart the application to reset its pool. "
        "2. Raise max connections if it happens again. That was the runbook. "
        "Press 4 to acknowledge, 6 to resolve, 2 to hear the runbook, star to repeat."
    )
    assert "acknowledged" in result.lower()
    detail = (await runbook_paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert detail["status"] == "acknowledged"


async def test_without_a_text_runbook_key_2_is_not_offered_and_repeats_the_page(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())  # a runbook link: nothing to read
    await paging.tick()
    await paging.tick(minutes=5)
    [call] = paging.calls_to(BOB)
    said = await paging.fake.answer_call(call["sid"], ["2"])
    page, again = said[0], said[-1]
    assert "runbook" not in _spoken(page).lower()
    assert _spoken(again) == _spoken(page)
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert detail["status"] == "triggered"
