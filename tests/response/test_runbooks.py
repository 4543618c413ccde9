"""Runbooks: from the alert's runbook_url annotation, else from the rules
file's registry; shown on the incident and carried by the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, RULES, make_settings
from tests.fakes.twilio_server import FakeTwilio, serve_asgi
from tests.helpers import am_alert, am_payload, incident, post
from tests.paging import ALICE, ONCALL, PUBLIC_URL, Paging, checkout_alert, paging_settings
from tests.response.helpers import report

DB_RUNBOOK = """\
# Database Connection Pool Exhausted
## Symptoms
- Error: "Too many connections"
## Mitigation
1. Restart application to reset connection pool
"""


def _rules_with_runbooks(tmp_path: Path) -> Path:
    runbooks = [
        "runbooks:",
        "  - name: checkout",
        "    matchers: ['service=\"checkout\"']",
        "    url: https://runbooks.example/checkout-registry",
        "  - name: db-pool",
        "    matchers: ['alertname=\"DBPoolExhausted\"']",
        "    text: |",
        *(f"      {line}" for line in DB_RUNBOOK.splitlines()),
    ]
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.read_text() + "\n".join(runbooks) + "\n")
    return path


@pytest.fixture
def settings(db: str, tmp_path: Path) -> Settings:
    return make_settings(db, config=_rules_with_runbooks(tmp_path))


async def test_the_alert_annotation_wins(client: httpx.AsyncClient) -> None:
    await post(client, checkout_alert())
    runbook = (await incident(client, 1))["runbook"]
    assert runbook == {
        "source": "annotation",
        "name": None,
        "url": "https://runbooks.example/checkout",
        "text": None,
    }


async def test_without_an_annotation_the_registry_decides(client: httpx.AsyncClient) -> None:
    payload = am_payload(
        [am_alert("f000000000000001", alertname="DBPoolExhausted", severity="warning")],
        group_key="{}:{db}",
    )
    await post(client, payload)
    runbook = (await incident(client, 1))["runbook"]
    assert runbook["source"] == "rules"
    assert runbook["name"] == "db-pool"
    assert runbook["url"] is None
    assert runbook["text"] == DB_RUNBOOK


async def test_a_reported_incident_finds_its_runbook_by_service(
    client: httpx.AsyncClient,
) -> None:
    number = (await report(client, service="checkout"))["number"]
    runbook = (await incident(client, number))["runbook"]
    assert runbook["url"] == "https://runbooks.example/checkout-registry"
    other = (await report(client, service="search"))["number"]
    assert (await incident(client, other))["runbook"] is None


@pytest.fixture
async def runbook_paging(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Paging]:
    app: FastAPI = create_app(
        paging_settings(db, fake_twilio, config=_rules_with_runbooks(tmp_path)), clock=clock
    )
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        fake_twilio.rewrite_url(PUBLIC_URL, url)
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as api:
            assert (await api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
            yield Paging(app=app, api=api, fake=fake_twilio, clock=clock, url=url)


async def test_the_page_carries_the_registry_url(runbook_paging: Paging) -> None:
    number = (await report(runbook_paging.api, service="checkout"))["number"]
    await runbook_paging.tick()
    assert runbook_paging.texts_to(ALICE) == [
        f"[Klaxon] SEV2 #{number} Payment Service Degraded (checkout). "
        "Runbook: https://runbooks.example/checkout-registry. "
        f"Reply {number}A to ack, {number}R to resolve."
    ]
