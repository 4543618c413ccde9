"""Shared by the maintenance tests that run a real Alertmanager."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.clock import ManualClock
from tests.services.alertmanager import PrivateAlertmanager, private_alertmanager


@pytest.fixture
def alertmanager() -> Iterator[PrivateAlertmanager]:
    # Its own notifications go nowhere: these tests read its API.
    with private_alertmanager("http://127.0.0.1:9/none", "unused") as am:
        yield am


@pytest.fixture
def real_clock() -> ManualClock:
    return ManualClock(datetime.now(UTC).replace(microsecond=0))


async def am_get(am: PrivateAlertmanager, path: str, **params: Any) -> Any:
    async with httpx.AsyncClient(base_url=am.url, trust_env=False) as http:
        resp = await http.get(path, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()


async def klaxon_silences(am: PrivateAlertmanager) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await am_get(am, "/api/v2/silences")
    return [s for s in found if s["createdBy"] == "klaxon"]
