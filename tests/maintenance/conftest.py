"""Shared by the maintenance tests that run a real Alertmanager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, serve_paging
from tests.services.alertmanager import PrivateAlertmanager, private_alertmanager


@pytest.fixture
def alertmanager() -> Iterator[PrivateAlertmanager]:
    # Its own notifications go nowhere: these tests read its API.
    with private_alertmanager("http://127.0.0.1:9/none", "unused") as am:
        yield am


@pytest.fixture
def real_clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def am_paging(
    db: str, fake_twilio: FakeTwilio, real_clock: ManualClock, alertmanager: PrivateAlertmanager
) -> AsyncIterator[Paging]:
    """The paging harness with ``alertmanager`` as Klaxon's Alertmanager."""
    async with serve_paging(
        db, fake_twilio, real_clock, alertmanager_urls=alertmanager.url
    ) as paging:
        yield paging


async def am_get(am: PrivateAlertmanager, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=am.url, trust_env=False) as http:
        resp = await http.get(path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()


async def klaxon_silences(am: PrivateAlertmanager) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await am_get(am, "/api/v2/silences")
    return [s for s in found if s["createdBy"] == "klaxon"]
