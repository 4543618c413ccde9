"""Fixtures of the automation tests: the executor's secret in the environment, a
fake executor on loopback, and Klaxon whose checkout policy runs
restart-checkout first (tests/automation/harness.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.clock import ManualClock
from tests.automation.harness import serve_automation
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging


@pytest.fixture(autouse=True)
def rundeck_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_SECRET_TEST_RUNDECK", "rundeck-token-123")


@pytest.fixture
async def executor() -> AsyncIterator[FakeExecutor]:
    async with FakeExecutor() as running:
        yield running


@pytest.fixture
async def paging(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, executor: FakeExecutor
) -> AsyncIterator[Paging]:
    """Klaxon whose checkout policy runs restart-checkout, then pages alice."""
    async with serve_automation(db, fake_twilio, clock, tmp_path, executor) as served:
        yield served
