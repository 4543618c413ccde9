"""KLAXON_STATUS_HOST: that host name reaches the status page and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN

PUBLIC_NAME = "status.example.com"


@pytest.fixture
async def hosted(settings: Settings, clock: ManualClock) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"status_host": PUBLIC_NAME}), clock=clock)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_status_host_gets_only_the_status_page(hosted: FastAPI) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    transport = httpx.ASGITransport(app=hosted)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{PUBLIC_NAME}") as public:
        for path in ("/status", "/status/api/v2/summary.json", "/status/history.rss"):
            assert (await public.get(path)).status_code == 200, path
        for path in (
            "/api/v1/incidents",
            "/healthz",
            "/metrics",
            "/docs",
            "/openapi.json",
            "/statusx",
            "/",
        ):
            resp = await public.get(path, headers=admin)
            assert resp.status_code == 404, path
        assert (
            await public.get("/status", headers={"Host": "STATUS.example.com:443"})
        ).status_code == 200
        assert (
            await public.get("/api/v1/incidents", headers={"Host": f"{PUBLIC_NAME}:8080"})
        ).status_code == 404
    async with httpx.AsyncClient(transport=transport, base_url="http://klaxon.internal") as private:
        assert (await private.get("/api/v1/incidents", headers=admin)).status_code == 200
        assert (await private.get("/status")).status_code == 200


async def test_without_the_setting_every_host_gets_everything(client: httpx.AsyncClient) -> None:
    resp = await client.get("/api/v1/incidents", headers={"Host": PUBLIC_NAME})
    assert resp.status_code == 200


async def test_the_status_host_takes_subscriptions_but_not_the_admin_list(hosted: FastAPI) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    transport = httpx.ASGITransport(app=hosted)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{PUBLIC_NAME}") as public:
        subscribed = await public.post(
            "/status/api/v2/subscribers/sms", json={"phone": "+15551239001"}
        )
        assert subscribed.status_code == 202, subscribed.text
        listed = await public.get("/api/v1/status/subscribers", headers=admin)
        assert listed.status_code == 404
    async with httpx.AsyncClient(transport=transport, base_url="http://klaxon.internal") as private:
        listed = await private.get("/api/v1/status/subscribers", headers=admin)
        assert listed.status_code == 200
        assert [s["state"] for s in listed.json()] == ["pending"]
