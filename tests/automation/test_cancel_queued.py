"""An action queued but not sent yet (its first try failed and it waits to retry)
is called back when the incident resolves: it is not sent to an executor for an
incident that is over, and the timeline says so."""

from __future__ import annotations

import pytest

from tests.automation.harness import timeline
from tests.automation.test_action_steps import FP, resolved_checkout
from tests.fakes.executor import FakeExecutor
from tests.paging import Paging, checkout_alert, open_incident


@pytest.fixture
def executor(executor: FakeExecutor) -> FakeExecutor:
    executor.statuses.append(503)  # the first try fails
    return executor


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
