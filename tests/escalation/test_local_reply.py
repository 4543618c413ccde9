"""Without Twilio credentials: pages are logged, and `klaxon reply` acts as the phone."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.clock import ManualClock
from app.main import create_app
from app.settings import get_settings
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.fakes.twilio_server import serve_asgi
from tests.paging import ALICE, ONCALL, checkout_alert


async def test_logged_page_then_klaxon_reply_acknowledges(
    db: str,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(make_settings(db), clock=clock)
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        # The signature covers the public URL; here Klaxon is reached directly.
        app.state.runtime.settings = app.state.runtime.settings.model_copy(
            update={"public_url": url}
        )
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as api:
            assert (await api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
            resp = await api.post("/api/v1/webhooks/alertmanager", json=checkout_alert())
            number = resp.json()["incidents"][0]
            with caplog.at_level(logging.WARNING, logger="klaxon.notify"):
                await app.state.worker.run_due()
            logged = [r.getMessage() for r in caplog.records if r.name == "klaxon.notify"]
            assert any(f"Reply {number}A to ack" in m for m in logged)
            assert not any(ALICE in m for m in logged), "phone numbers are masked in logs"

            monkeypatch.setenv("KLAXON_ADMIN_TOKEN", ADMIN_TOKEN)
            monkeypatch.setenv("KLAXON_PUBLIC_URL", url)
            get_settings.cache_clear()
            try:
                result = await asyncio.to_thread(
                    CliRunner().invoke, cli, ["reply", "--from", ALICE, "--url", url, f"{number}A"]
                )
            finally:
                get_settings.cache_clear()
            assert result.exit_code == 0, result.output
            assert result.output.strip() == f"#{number} acknowledged"
            detail = (await api.get(f"/api/v1/incidents/{number}")).json()
            assert detail["status"] == "acknowledged"
            assert detail["acknowledged_by"] == "alice"
