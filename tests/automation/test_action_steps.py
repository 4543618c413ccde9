"""Action steps against a fake executor on loopback: the action runs when its step
fires, signed; resolved within the wait, nobody is paged; otherwise the page goes
out at the next step's due second, whatever the executor did."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.automation.harness import counted, serve_automation, timeline, verified
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import am_alert, am_payload
from tests.paging import ALICE, Paging, checkout_alert, open_incident

FP = "c0ffee0000000001"


def resolved_checkout(fp: str = FP) -> dict[str, object]:
    alert = am_alert(
        fp,
        status="resolved",
        ends_at="2026-11-26T12:01:00Z",
        service="checkout",
        severity="critical",
    )
    return am_payload([alert], group_key=f"{{}}:{{checkout={fp}}}")


async def test_action_that_fixes_the_alert_within_the_wait_pages_nobody(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await open_incident(paging, checkout_alert(FP))
    await paging.tick()
    assert len(executor.requests) == 1
    sent = executor.requests[0]
    assert sent.method == "POST" and sent.path == "/api/45/job/restart/run"
    assert sent.headers["x-rundeck-auth-token"] == "rundeck-token-123"
    assert sent.headers["idempotency-key"] == sent.headers["webhook-id"]
    body = verified(sent)
    assert body["options"] == {
        "incident": str(number),
        "service": "checkout",
        "title": "checkout errors",
    }
    assert [alert["labels"]["service"] for alert in body["alerts"]] == ["checkout"]

    paging.clock.advance(minutes=1)
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved_checkout())
    assert resp.status_code == 200, resp.text
    await paging.tick(minutes=2)
    await paging.tick(minutes=10)
    assert paging.texts_to(ALICE) == []
    lines = await timeline(paging, number)
    assert any(line.startswith("Step 1: running action restart-checkout") for line in lines)
    assert any(line.startswith("Action restart-checkout: 200 OK") for line in lines)
    assert (
        "Alerts resolved within the wait after action restart-checkout: the action fixed it;"
        " nobody was paged"
    ) in lines
    assert len(executor.requests) == 1


async def test_action_that_does_not_fix_it_pages_at_the_next_steps_due_second(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await open_incident(paging, checkout_alert(FP))
    await paging.tick()
    assert len(executor.requests) == 1
    await paging.tick(minutes=2, seconds=59)
    assert paging.texts_to(ALICE) == []
    await paging.tick(seconds=1)
    assert len(paging.texts_to(ALICE)) == 1
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved_checkout())
    assert resp.status_code == 200, resp.text
    lines = await timeline(paging, number)
    assert "Step 2: paging alice by sms" in lines
    assert lines[-1].startswith("Incident resolved")
    assert not any("fixed it" in line for line in lines)  # resolved after the wait


async def test_a_slow_executor_does_not_move_the_escalation(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, executor: FakeExecutor
) -> None:
    executor.delay = 3.0
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor, timeout="1s") as paging:
        before = await counted(paging, "action", "restart-checkout", "timeout")
        number = await open_incident(paging, checkout_alert(FP))
        await paging.tick()
        await paging.tick(minutes=2, seconds=59)
        assert paging.texts_to(ALICE) == []
        await paging.tick(seconds=1)
        assert len(paging.texts_to(ALICE)) == 1
        # The try at 12:00:00 and its retry at 12:02:59; the next would pass the deadline.
        assert len(executor.requests) == 2
        assert await counted(paging, "action", "restart-checkout", "timeout") == before + 2
        lines = await timeline(paging, number)
        assert (
            "Action restart-checkout: no answer within 1 s; trying again at 12:00:05 UTC" in lines
        )


async def test_an_action_runs_once_per_incident_even_when_the_policy_repeats(
    paging: Paging, executor: FakeExecutor
) -> None:
    policy = {
        "steps": [
            {"run": "restart-checkout", "wait": 60},
            {"targets": {"responders": ["alice"]}, "channels": ["sms"], "delay_minutes": 1},
        ],
        "repeat": 1,
    }
    resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=policy)
    assert resp.status_code == 200, resp.text
    number = await open_incident(paging, checkout_alert(FP))
    for _ in range(4):
        await paging.tick(minutes=1)
    assert len(executor.requests) == 1
    lines = await timeline(paging, number)
    assert (
        f"Step 1 (round 2): action restart-checkout already ran for #{number}; not run again"
    ) in lines
    assert len(paging.texts_to(ALICE)) == 2


async def test_a_policy_step_naming_an_unknown_action_is_refused(
    paging: Paging, executor: FakeExecutor
) -> None:
    policy = {"steps": [{"run": "restart-chekout", "wait": "3m"}]}
    resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=policy)
    assert resp.status_code == 400
    assert resp.json()["detail"] == (
        "policy 'checkout-oncall' steps[0]: unknown action 'restart-chekout'"
        " (the rules file declares: restart-checkout)"
    )
    both = {"steps": [{"run": "restart-checkout", "targets": {"responders": ["alice"]}}]}
    resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=both)
    assert resp.status_code == 422
    assert "either pages (targets) or runs an action (run)" in resp.text


async def test_a_failing_executor_is_retried_until_the_deadline_then_given_up(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, executor: FakeExecutor
) -> None:
    executor.status = 503
    executor.answer = '{"error": "rundeck is restarting"}'
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor) as paging:
        number = await open_incident(paging, checkout_alert(FP))
        before = await counted(paging, "action", "restart-checkout", "5xx")
        await paging.tick()
        for _ in range(17):  # to 12:02:50, past the 2-minute deadline
            await paging.tick(seconds=10)
        assert paging.texts_to(ALICE) == []
        await paging.tick(seconds=10)
        assert len(paging.texts_to(ALICE)) == 1  # at 12:03:00, the step's due second
        # 12:00:00, :05, :15, :35, 12:01:15; the next (12:02:35) would pass the deadline.
        assert len(executor.requests) == 5
        assert {r.headers["webhook-id"] for r in executor.requests} == {
            f"klaxon-{number}-restart-checkout"
        }
        for request in executor.requests:
            verified(request)
        lines = await timeline(paging, number)
        failed = (
            'Action restart-checkout: 503 Service Unavailable: {"error": "rundeck is restarting"}'
        )
        assert f"{failed}; trying again at 12:00:05 UTC" in lines
        assert f"{failed}; given up" in lines
        assert await counted(paging, "action", "restart-checkout", "5xx") == before + 5


async def test_an_executor_refusing_the_request_is_not_retried(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, executor: FakeExecutor
) -> None:
    executor.status = 403
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor) as paging:
        number = await open_incident(paging, checkout_alert(FP))
        await paging.tick()
        await paging.tick(minutes=1)
        assert len(executor.requests) == 1
        lines = await timeline(paging, number)
        assert any(
            line.startswith("Action restart-checkout: 403 Forbidden") and line.endswith("given up")
            for line in lines
        )


async def test_a_missing_secret_is_said_on_the_timeline_and_nothing_is_sent(
    db: str,
    fake_twilio: FakeTwilio,
    clock: ManualClock,
    tmp_path: Path,
    executor: FakeExecutor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KLAXON_SECRET_TEST_RUNDECK")
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor) as paging:
        number = await open_incident(paging, checkout_alert(FP))
        await paging.tick()
        assert executor.requests == []
        lines = await timeline(paging, number)
        assert (
            "Action restart-checkout: not sent, KLAXON_SECRET_TEST_RUNDECK is not set; given up"
        ) in lines


async def test_a_reload_dropping_an_action_a_policy_runs_is_refused(
    paging: Paging, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    kept = rules.read_text()
    rules.write_text(kept.replace("name: restart-checkout", "name: restart-cart"))
    resp = await paging.api.post("/-/reload")
    assert resp.status_code == 400
    assert (
        "policy 'checkout-oncall' steps[0]: unknown action 'restart-checkout'"
        " (the rules file declares: restart-cart)"
    ) in resp.json()["detail"]
    assert paging.app.state.runtime.rules.current.action("restart-checkout") is not None


async def test_alerts_resolving_while_the_request_fails_are_not_credited_to_the_action(
    paging: Paging, executor: FakeExecutor
) -> None:
    executor.status = 503
    number = await open_incident(paging, checkout_alert(FP))
    await paging.tick()
    paging.clock.advance(minutes=1)
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved_checkout())
    assert resp.status_code == 200, resp.text
    await paging.tick(minutes=5)
    assert paging.texts_to(ALICE) == []
    lines = await timeline(paging, number)
    assert (
        "Alerts resolved within the wait after action restart-checkout, whose request had not"
        " gone through (pending); nobody was paged"
    ) in lines
    assert not any("fixed it" in line for line in lines)
