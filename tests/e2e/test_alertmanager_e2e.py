"""End to end: a real Alertmanager 0.25 delivers to a real Klaxon over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import LiveServer, eventually
from tests.services.alertmanager import private_alertmanager


async def test_real_alertmanager_incident_appears_dedups_and_resolves(
    live_server: LiveServer,
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=live_server.url, headers=admin) as api:
        created = await api.post("/api/v1/tokens", json={"name": "alertmanager", "scope": "ingest"})
        ingest_token = created.json()["token"]
        webhook = f"{live_server.url}/api/v1/webhooks/alertmanager"

        async def incidents() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await api.get("/api/v1/incidents")).json()["items"]
            return items

        with private_alertmanager(webhook, ingest_token, group_by=["alertname", "service"]) as am:
            web1 = {
                "alertname": "HighErrorRate",
                "service": "checkout",
                "instance": "web-1",
                "severity": "critical",
            }
            web2 = dict(web1, instance="web-2")
            await asyncio.to_thread(am.fire, web1, {"summary": "50% of requests failing"})
            [first] = await eventually(incidents, "the incident")
            assert first["status"] == "triggered"
            assert first["severity"] == "SEV2"
            assert first["service"] == "checkout"
            assert first["title"] == "50% of requests failing"

            # A second alert of the same group: Alertmanager resends the group,
            # the first alert is a repeat, and both live in one incident.
            await asyncio.to_thread(am.fire, web2, {"summary": "50% of requests failing"})

            async def two_alerts() -> bool:
                listed = await incidents()
                return len(listed) == 1 and listed[0]["alert_count"] == 2

            await eventually(two_alerts, "the second alert to join")
            detail = (await api.get(f"/api/v1/incidents/{first['number']}")).json()
            assert {a["labels"]["instance"] for a in detail["alerts"]} == {"web-1", "web-2"}
            assert max(a["occurrences"] for a in detail["alerts"]) >= 2

            await asyncio.to_thread(am.resolve, web1)
            await asyncio.to_thread(am.resolve, web2)

            async def resolved() -> bool:
                listed = await incidents()
                return bool(listed[0]["status"] == "resolved")

            await eventually(resolved, "the incident to resolve")
            detail = (await api.get(f"/api/v1/incidents/{first['number']}")).json()
            assert {a["status"] for a in detail["alerts"]} == {"resolved"}
            assert detail["resolved_by"] == "alertmanager (alertmanager)"
            assert detail["timeline"][-1]["kind"] == "resolved"
            assert len(await incidents()) == 1


async def test_real_alertmanager_with_a_wrong_token_lands_nothing(
    live_server: LiveServer,
) -> None:
    webhook = f"{live_server.url}/api/v1/webhooks/alertmanager"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with private_alertmanager(webhook, "not-a-token") as am:
        await asyncio.to_thread(am.fire, {"alertname": "X", "service": "y"}, {"summary": "s"})

        async def refused() -> bool:
            return "401" in am.log_tail(200)

        await eventually(refused, "Alertmanager to report the 401")
    async with httpx.AsyncClient(base_url=live_server.url, headers=admin) as api:
        assert (await api.get("/api/v1/incidents")).json()["items"] == []
