"""A Klaxon wired to a fake Twilio on loopback, with the engine driven by the test.

Klaxon runs under uvicorn on a real port so that the fake can call it back
(inbound SMS, call TwiML, keypresses, status callbacks) exactly as Twilio
would. Klaxon's public URL is a made-up https address; the fake signs each
callback for that address and delivers it to the real port, as a proxy would.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.clock import ManualClock
from app.main import create_app
from app.settings import Settings
from app.worker import Worker
from tests.conftest import ADMIN_TOKEN
from tests.fakes.twilio_server import FakeTwilio, serve_asgi
from tests.helpers import am_alert, am_payload

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
KLAXON_NUMBER = "+15005550006"
PUBLIC_URL = "https://klaxon.example.com"
ALICE, BOB, CAROL = "+15551230001", "+15551230002", "+15551230003"

ONCALL: dict[str, Any] = {
    "responders": [
        {"name": "alice", "phone": ALICE, "time_zone": "America/New_York"},
        {"name": "bob", "phone": BOB, "time_zone": "Europe/Berlin"},
        {"name": "carol", "phone": CAROL},
    ],
    "schedules": [
        {
            "name": "checkout-primary",
            "time_zone": "UTC",
            "services": ["checkout"],
            "layers": [
                {
                    "name": "weekly",
                    "participants": ["alice"],
                    "shift": "1w",
                    "start": "2026-11-01T09:00:00",
                }
            ],
        },
        {
            "name": "checkout-secondary",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "weekly",
                    "participants": ["bob"],
                    "shift": "1w",
                    "start": "2026-11-01T09:00:00",
                }
            ],
        },
        {
            "name": "nights-only",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "night",
                    "participants": ["carol"],
                    "shift": "1d",
                    "start": "2026-11-01T00:00:00",
                    "restrictions": [
                        {
                            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            "start": "00:00",
                            "end": "06:00",
                        }
                    ],
                }
            ],
        },
    ],
    "policies": [
        {
            "name": "checkout-oncall",
            "steps": [
                {
                    "targets": {"schedules": ["checkout-primary"]},
                    "channels": ["sms"],
                    "delay_minutes": 5,
                },
                {
                    "targets": {"schedules": ["checkout-secondary"]},
                    "channels": ["sms", "voice"],
                    "delay_minutes": 10,
                },
            ],
        },
        {
            "name": "default",
            "steps": [
                {
                    "targets": {"schedules": ["nights-only"]},
                    "channels": ["sms"],
                    "delay_minutes": 5,
                },
                {"targets": {"responders": ["carol"]}, "channels": ["voice"], "delay_minutes": 5},
            ],
        },
    ],
}


@dataclass
class Paging:
    app: FastAPI
    api: httpx.AsyncClient
    fake: FakeTwilio
    clock: ManualClock
    url: str

    @property
    def engine(self) -> Worker:
        return self.app.state.worker  # type: ignore[no-any-return]

    async def tick(self, **advance: float) -> None:
        """Move the clock, then let the engine do everything that is due."""
        if advance:
            self.clock.advance(**advance)
        await self.engine.run_due()

    async def sms_reply(self, from_: str, body: str, *, signed: bool = True) -> httpx.Response:
        return await self.fake.inbound_sms(
            from_, body, f"{PUBLIC_URL}/api/v1/twilio/sms", to=KLAXON_NUMBER, signed=signed
        )

    def texts_to(self, number: str) -> list[str]:
        return [str(m["body"]) for m in self.fake.messages if m["to"] == number]

    def calls_to(self, number: str) -> list[dict[str, Any]]:
        return [c for c in self.fake.calls if c["to"] == number]


def paging_settings(db: str, fake: FakeTwilio, **overrides: Any) -> Settings:
    from tests.conftest import make_settings

    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from": KLAXON_NUMBER,
        "twilio_api_url": fake.api_url,
        "public_url": PUBLIC_URL,
        "engine_enabled": False,
    }
    values.update(overrides)
    return make_settings(db, **values)


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as fake:
        yield fake


@contextlib.asynccontextmanager
async def serve_paging(
    db: str, fake: FakeTwilio, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Paging]:
    """Klaxon on ``paging_settings`` (with ``overrides``) under uvicorn on loopback,
    called back by ``fake``, with ``ONCALL`` applied: the ``paging`` fixture, for
    tests that need settings of their own."""
    app = create_app(paging_settings(db, fake, **overrides), clock=clock)
    async with app.router.lifespan_context(app), serve_asgi(app) as url:
        fake.rewrite_url(PUBLIC_URL, url)
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as api:
            applied = await api.post("/api/v1/oncall-config", json=ONCALL)
            assert applied.status_code == 200, applied.text
            yield Paging(app=app, api=api, fake=fake, clock=clock, url=url)


@pytest.fixture
async def paging(db: str, fake_twilio: FakeTwilio, clock: ManualClock) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake_twilio, clock) as served:
        yield served


def checkout_alert(
    fp: str = "c0ffee0000000001", severity: str = "critical", **labels: str
) -> dict[str, Any]:
    """A checkout alert (routed to checkout-oncall; critical unless said), as
    Alertmanager posts it."""
    return am_payload(
        [
            am_alert(
                fp,
                service="checkout",
                severity=severity,
                annotations={
                    "summary": "checkout errors",
                    "description": "50% of requests failing",
                    "runbook_url": "https://runbooks.example/checkout",
                },
                **labels,
            )
        ],
        group_key=f"{{}}:{{checkout={fp}}}",
    )


async def open_incident(paging: Paging, payload: dict[str, Any]) -> int:
    """Post ``payload`` to the Alertmanager webhook; the first incident it touched."""
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=payload)
    assert resp.status_code == 200, resp.text
    numbers: list[int] = resp.json()["incidents"]
    return numbers[0]


async def incident_detail(paging: Paging, number: int) -> dict[str, Any]:
    """``GET /api/v1/incidents/{number}``'s answer."""
    detail: dict[str, Any] = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    return detail
