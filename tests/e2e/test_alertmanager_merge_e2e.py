"""End to end: a real Alertmanager merges what two senders say of one alert.

Alertmanager keeps the earliest ``startsAt`` it was told. An HA pair of
Prometheus servers evaluating half a second apart, or a Prometheus that comes
back from a restart with its alert's restored, earlier start, make it send the
same firing episode first with one start and later with an earlier one; its
resolution carries the earlier start. Klaxon must resolve that incident.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import LiveServer, eventually
from tests.services.alertmanager import PrivateAlertmanager, private_alertmanager

LABELS = {"alertname": "PostgresDown", "service": "db", "severity": "critical"}


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sent(starts_at: datetime, ends_at: datetime) -> list[dict[str, Any]]:
    """One Prometheus' alert as it posts it: a start, and an end that is a
    lease (firing) or the time it resolved."""
    return [
        {
            "labels": LABELS,
            "annotations": {"summary": "primary database down"},
            "startsAt": _iso(starts_at),
            "endsAt": _iso(ends_at),
        }
    ]


@dataclass
class Harness:
    am: PrivateAlertmanager
    api: httpx.AsyncClient

    async def send(self, starts_at: datetime, ends_at: datetime) -> None:
        await asyncio.to_thread(self.am.post_alerts, _sent(starts_at, ends_at))

    async def only_incident(self) -> dict[str, Any]:
        async def one() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await self.api.get("/api/v1/incidents")).json()["items"]
            return items

        [listed] = await eventually(one, "the incident")
        found = await self.api.get(f"/api/v1/incidents/{listed['number']}")
        detail: dict[str, Any] = found.json()
        return detail

    async def stored(self) -> dict[str, Any]:
        [alert] = (await self.only_incident())["alerts"]
        assert isinstance(alert, dict)
        return alert


@asynccontextmanager
async def _harness(live_server: LiveServer) -> AsyncIterator[Harness]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=admin) as api:
        created = await api.post("/api/v1/tokens", json={"name": "am", "scope": "ingest"})
        webhook = f"{live_server.url}/api/v1/webhooks/alertmanager"
        # Resent every 2 s, so that a firing notification carries the merged start.
        with private_alertmanager(
            webhook, created.json()["token"], group_by=["alertname"], repeat_interval="2s"
        ) as am:
            yield Harness(am, api)


async def _merged_then_resolved(h: Harness, later: datetime, resolving: list[datetime]) -> None:
    """Klaxon stored the later start; Alertmanager now says the earlier one.
    Then the senders (their starts: ``resolving``) post the resolution."""
    base = (await h.stored())["occurrences"]

    async def repeated() -> bool:
        # Two resends after the merge: the first might have left before it.
        return bool((await h.stored())["occurrences"] >= base + 2)

    # Before the fix, each resend with the earlier start was "stale".
    await eventually(repeated, "resends with the earlier start to count as repeats")
    assert datetime.fromisoformat((await h.stored())["starts_at"]) == later
    now = datetime.now(UTC)
    for starts_at in resolving:
        await h.send(starts_at, now)

    async def resolved() -> bool:
        return bool((await h.only_incident())["status"] == "resolved")

    await eventually(resolved, "the incident to resolve")
    detail = await h.only_incident()
    assert [a["status"] for a in detail["alerts"]] == ["resolved"]
    assert detail["alert_count"] == 1
    assert [e["kind"] for e in detail["timeline"]][-2:] == ["alert_resolved", "resolved"]


async def test_ha_prometheus_pair_half_a_second_apart_resolves(live_server: LiveServer) -> None:
    async with _harness(live_server) as h:
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        later = t + timedelta(milliseconds=500)
        lease = datetime.now(UTC) + timedelta(minutes=5)
        await h.send(later, lease)  # the pair's second Prometheus is heard first
        assert datetime.fromisoformat((await h.stored())["starts_at"]) == later
        # Then the first: its lease ends earlier, so Alertmanager merges the two
        # (keeping the earliest start) instead of replacing one by the other.
        await h.send(t, lease - timedelta(seconds=1))
        await _merged_then_resolved(h, later, [later, t])


async def test_prometheus_restart_with_an_earlier_restored_start_resolves(
    live_server: LiveServer,
) -> None:
    async with _harness(live_server) as h:
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
        later = t + timedelta(milliseconds=500)
        # Before the restart the alert went out with the later start ...
        await h.send(later, datetime.now(UTC) + timedelta(seconds=20))
        assert datetime.fromisoformat((await h.stored())["starts_at"]) == later
        # ... Prometheus restarts, restores the alert's state, and re-sends it
        # with its earlier start while Alertmanager still holds it.
        await h.send(t, datetime.now(UTC) + timedelta(minutes=5))
        await _merged_then_resolved(h, later, [t])
