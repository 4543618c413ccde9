"""An action queued but not sent yet (its first try failed and it waits to retry)
is called back when the incident resolves: it is not sent to an executor for an
incident that is over, and the timeline says so."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.automation.harness import serve_automation, timeline
from tests.automation.test_action_steps import FP, resolved_checkout
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, checkout_alert, open_incident


@pytest.fixture(autouse=True)
def rundeck_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_SECRET_TEST_RUNDECK", "rundeck-token-123")


@pytest.fixture
async def executor() -> AsyncIterator[FakeExecutor]:
    async with FakeExecutor() as running:
        running.statuses.append(503)  # the first try fails
        yield running


@pytest.fixture
async def paging(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, executor: FakeExecutor
) -> AsyncIterator[Paging]:
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor) as served:
        yield served


async def _waiting_to_retry(paging: Paging, executor: FakeExecutor) -> int:
    number = await open_incident(paging, checkout_alert(FP))
    await paging.tick()
    assert [r.path for r in executor.requests] == ["/api/45/job/restart/run"]
    lines = await timeline(paging, number)
    assert any(line.startswith("Action restart-checkout: 503") for line in lines)
    return number


async def test_a_queued_action_is_not_sent_once_the_alerts_resolve(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _waiting_to_retry(paging, executor)
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=resolved_checkout())
    assert resp.status_code == 200, resp.text
    await paging.tick(seconds=10)  # past the retry's due time (5 s)
    await paging.tick(minutes=3)
    assert len(executor.requests) == 1
    lines = await timeline(paging, number)
    assert "Action restart-checkout cancelled before it was sent: the alerts resolved" in lines
    # The wait's note says the request had not gone through, not that it fixed it.
    assert any("whose request had not gone through" in line for line in lines)


async def test_a_queued_action_is_not_sent_once_someone_resolves_it(
    paging: Paging, executor: FakeExecutor
) -> None:
    number = await _waiting_to_retry(paging, executor)
    resp = await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "carol"})
    assert resp.status_code == 200, resp.text
    await paging.tick(seconds=10)
    assert len(executor.requests) == 1
    lines = await timeline(paging, number)
    assert any(
        line.startswith("Action restart-checkout cancelled before it was sent: resolved by")
        for line in lines
    )
