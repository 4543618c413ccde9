"""Approved runbooks against a fake executor on loopback: the page offers an
action (``Reply 42X to run restart-checkout``); the responder it paged replies
42X and the action runs once, signed, its outcome texted back; anyone else is
refused and nothing runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from app.notify.texts import PageInfo, gsm7_segments, page_sms
from tests.automation.harness import serve_automation, timeline, verified
from tests.automation.test_action_steps import resolved_checkout
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import told
from tests.paging import ALICE, BOB, Paging, checkout_alert, open_incident

FP = "c0ffee00000000a1"

#: alice is paged with the offer; bob five minutes later, without one.
OFFER_POLICY: dict[str, Any] = {
    "steps": [
        {
            "targets": {"schedules": ["checkout-primary"]},
            "channels": ["sms"],
            "delay_minutes": 5,
            "offer": "restart-checkout",
        },
        {"targets": {"schedules": ["checkout-secondary"]}, "channels": ["sms"]},
    ]
}


@pytest.fixture
async def paging(paging: Paging) -> Paging:
    """The automation tests' Klaxon, its checkout policy offering restart-checkout."""
    resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=OFFER_POLICY)
    assert resp.status_code == 200, resp.text
    return paging


async def _paged(paging: Paging) -> int:
    number = await open_incident(paging, checkout_alert(FP))
    await paging.tick()
    return number


async def _kinds(paging: Paging, number: int) -> list[tuple[str, str]]:
    resp = await paging.api.get(f"/api/v1/incidents/{number}/timeline")
    return [(str(e["kind"]), str(e["actor"])) for e in resp.json()]


async def test_the_page_offers_the_action_within_two_segments(paging: Paging) -> None:
    number = await _paged(paging)
    [page] = paging.texts_to(ALICE)
    assert f" Reply {number}X to run restart-checkout, {number}A to ack" in page
    assert gsm7_segments(page) <= 2
    lines = await timeline(paging, number)
    assert any(line.endswith("offering action restart-checkout") for line in lines)


async def test_approval_by_the_paged_responder_runs_it_once_and_texts_the_result(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _paged(paging)
    assert executor.requests == []  # offered, not run
    answer = await paging.sms_reply(ALICE, f"{number}X")
    assert told(answer.text) == f"#{number}: running restart-checkout; the result follows by text"
    captured = paging.fake.webhooks[-1]
    await paging.tick()
    [sent] = executor.requests
    assert verified(sent)["options"]["incident"] == str(number)
    assert sent.headers["webhook-id"] == f"klaxon-{number}-restart-checkout-approved"
    assert sent.headers["idempotency-key"] == sent.headers["webhook-id"]

    again = await paging.sms_reply(ALICE, f"{number}x")
    assert told(again.text) == f"#{number}: restart-checkout was already approved; not run again"
    replayed = await paging.fake.resend(captured, idempotency_token=None)
    assert (replayed.status_code, told(replayed.text)) == (200, None)
    await paging.tick(seconds=30)
    assert len(executor.requests) == 1

    result = paging.texts_to(ALICE)[-1]
    assert result.startswith(f"[Klaxon] #{number} Action restart-checkout: 200 OK")
    assert gsm7_segments(result) == 1
    assert ("action_approved", "alice") in await _kinds(paging, number)
    lines = await timeline(paging, number)
    assert "Action restart-checkout approved by alice via sms: running it" in lines
    # Approving is not acknowledging: escalation goes on unless someone acks.
    await paging.tick(minutes=5)
    assert any(text.startswith(f"[Klaxon] SEV2 #{number} ") for text in paging.texts_to(BOB))


async def test_approval_from_someone_not_offered_it_is_refused(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _paged(paging)
    refused = f"#{number}: no action was offered to you for it; nothing run"
    assert told((await paging.sms_reply(BOB, f"{number}X")).text) == refused
    # Paged by the next step, whose page offers nothing: still refused.
    await paging.tick(minutes=5)
    assert "X to run" not in paging.texts_to(BOB)[-1]
    assert told((await paging.sms_reply(BOB, f"{number}X")).text) == refused
    await paging.tick(seconds=30)
    assert executor.requests == []
    assert ("action_refused", "bob") in await _kinds(paging, number)


async def test_a_failed_action_is_texted_back_as_given_up(
    paging: Paging, executor: FakeExecutor
) -> None:
    executor.status = 403
    number = await _paged(paging)
    await paging.sms_reply(ALICE, f"{number}X")
    await paging.tick()
    assert len(executor.requests) == 1
    result = paging.texts_to(ALICE)[-1]
    assert result.startswith(f"[Klaxon] #{number} Action restart-checkout: 403 Forbidden")
    assert result.endswith("; given up")


async def test_approval_of_a_resolved_incident_runs_nothing(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _paged(paging)
    resolved = await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    assert resolved.status_code == 200, resolved.text
    answer = await paging.sms_reply(ALICE, f"{number}X")
    assert told(answer.text) == f"#{number} is already resolved; restart-checkout not run"
    await paging.tick()
    assert executor.requests == []


async def test_an_approved_action_not_yet_sent_is_cancelled_when_the_alerts_resolve(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _paged(paging)
    await paging.sms_reply(ALICE, f"{number}X")
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved_checkout(FP))
    assert resp.status_code == 200, resp.text
    await paging.tick(seconds=30)
    assert executor.requests == []
    cancelled = "Action restart-checkout cancelled before it was sent: the alerts resolved"
    assert cancelled in await timeline(paging, number)
    assert f"[Klaxon] #{number} {cancelled}" in paging.texts_to(ALICE)


async def test_a_runbook_of_the_rules_file_offers_its_action(
    db: str,
    fake_twilio: FakeTwilio,
    clock: ManualClock,
    tmp_path: Path,
    executor: FakeExecutor,
) -> None:
    runbook = """runbooks:
  - matchers: ['service="checkout"']
    text: "Restart the checkout pods."
    action: restart-checkout
"""
    async with serve_automation(
        db, fake_twilio, clock, tmp_path, executor, extra=runbook
    ) as paging:
        policy = {"steps": [OFFER_POLICY["steps"][1] | {"targets": {"responders": ["alice"]}}]}
        resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=policy)
        assert resp.status_code == 200, resp.text
        number = await _paged(paging)
        assert f"Reply {number}X to run restart-checkout" in paging.texts_to(ALICE)[-1]
        answer = await paging.sms_reply(ALICE, "X")  # bare: the latest page
        assert (
            told(answer.text) == f"#{number}: running restart-checkout; the result follows by text"
        )
        await paging.tick()
        assert len(executor.requests) == 1


@pytest.mark.parametrize("runbook_url", [None, "https://runbooks.example/" + "r" * 60])
def test_a_long_page_with_an_offer_still_fits_two_segments(runbook_url: str | None) -> None:
    info = PageInfo(
        number=987654,
        severity="SEV1",
        title="payments " * 40,
        service="s" * 40,
        summary="requests failing " * 20,
        runbook_url=runbook_url,
        offer="restart-" + "p" * 92,  # the longest name an action may have
    )
    page = page_sms(info)
    assert gsm7_segments(page) <= 2
    assert page.endswith(f" Reply 987654X to run {info.offer}, 987654A to ack, 987654R to resolve.")


async def test_the_page_call_offers_a_key_that_runs_the_action(
    paging: Paging, executor: FakeExecutor
) -> None:
    step = OFFER_POLICY["steps"][0] | {"channels": ["voice"]}
    resp = await paging.api.put(
        "/api/v1/escalation-policies/checkout-oncall", json={"steps": [step]}
    )
    assert resp.status_code == 200, resp.text
    number = await _paged(paging)
    [call] = paging.calls_to(ALICE)
    said = await paging.fake.answer_call(call["sid"], "9")
    assert "Press 4 to acknowledge, 6 to resolve, 9 to run restart checkout" in said[0]
    assert f"Incident {number}: running restart-checkout; the result follows by text" in said[-1]
    pressed = paging.fake.webhooks[-1]
    replayed = await paging.fake.resend(pressed, idempotency_token=None)
    assert told(replayed.text) == "Your choice was already taken. Goodbye."
    await paging.tick()
    assert len(executor.requests) == 1
    assert paging.texts_to(ALICE)[-1].startswith(f"[Klaxon] #{number} Action restart-checkout")
    lines = await timeline(paging, number)
    assert "Action restart-checkout approved by alice via voice: running it" in lines


async def test_a_policy_offering_an_unknown_action_is_refused(paging: Paging) -> None:
    step = OFFER_POLICY["steps"][0] | {"offer": "restart-chekout"}
    resp = await paging.api.put(
        "/api/v1/escalation-policies/checkout-oncall", json={"steps": [step]}
    )
    assert resp.status_code == 400
    assert resp.json()["detail"] == (
        "policy 'checkout-oncall' steps[0]: unknown action 'restart-chekout'"
        " (the rules file declares: restart-checkout)"
    )
