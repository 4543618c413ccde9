"""Concurrent deliveries reuse the pool's connections (issue 13.2). With a
pool that kept 10 and opened up to 10 more for a burst, every burst past 10
concurrent requests opened and closed connections again (a TCP connect, an
SSL offer, authentication and a backend start each; 141 in 45 s of the
bench's load): those past the kept ones were closed as they came back."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import event

from app.main import create_app
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.helpers import WEBHOOK, am_alert, am_payload

CONCURRENT = 20


@pytest.mark.postgresql_only("connection pooling against a server")
async def test_a_second_burst_opens_no_new_connection(db: str) -> None:
    app = create_app(make_settings(db))
    async with app.router.lifespan_context(app):
        pool = app.state.runtime.engine.sync_engine.pool
        opened = 0

        def connected(*_: object) -> None:
            nonlocal opened
            opened += 1

        event.listen(pool, "connect", connected)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://klaxon.test", headers=headers
        ) as client:

            async def burst(wave: int) -> None:
                posts = [
                    client.post(
                        WEBHOOK,
                        json=am_payload(
                            [am_alert(f"{wave:04x}{i:012x}", alertname=f"Burst{wave}x{i}")],
                            group_key=f'{{}}:{{alertname="Burst{wave}x{i}"}}',
                        ),
                    )
                    for i in range(CONCURRENT)
                ]
                answers = await asyncio.gather(*posts)
                assert [a.status_code for a in answers] == [200] * CONCURRENT

            await burst(1)
            after_first = opened
            for wave in range(2, 5):
                await burst(wave)
        event.remove(pool, "connect", connected)
    assert after_first > 0
    assert opened == after_first, "later bursts reuse the connections the first one opened"
