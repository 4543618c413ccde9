"""Triage fields with their types: affected customers as a count or an
estimate, regions as a list; and the migration that keeps stored counts
readable. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.clock import ManualClock
from app.main import create_app
from app.migrate import upgrade_async
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.response.helpers import patch, report, timeline
from tests.services.postgres import PrivatePostgres


@pytest.mark.parametrize(
    ("given", "shown", "said"),
    [
        (1200, 1200, "Affected customers: 1200"),
        ("1000-5000", "1000-5000", "Affected customers: 1000-5000"),
        ("~3k", "~3k", "Affected customers: ~3k"),
        (0, 0, "Affected customers: 0"),
    ],
)
async def test_affected_customers_takes_a_count_or_an_estimate(
    client: httpx.AsyncClient, given: Any, shown: Any, said: str
) -> None:
    number = (await report(client))["number"]
    detail = await patch(client, number, affected_customers=given)
    assert detail["affected_customers"] == shown
    assert said in [e["message"] for e in await timeline(client, number)]
    postmortem = (await client.get(f"/api/v1/incidents/{number}/postmortem")).text
    assert f"- {shown} affected customers" in postmortem


@pytest.mark.parametrize("bad", ["", "   ", "x" * 101, -1, "12\n00", 1.5, True, [1]])
async def test_affected_customers_refuses_what_is_neither(
    client: httpx.AsyncClient, bad: Any
) -> None:
    number = (await report(client))["number"]
    resp = await client.patch(f"/api/v1/incidents/{number}", json={"affected_customers": bad})
    assert resp.status_code == 422, resp.text
    assert "affected_customers" in str(resp.json()["detail"])


async def test_regions_are_a_list_on_the_incident_its_timeline_and_postmortem(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    assert (await client.get(f"/api/v1/incidents/{number}")).json()["regions"] == []
    detail = await patch(client, number, regions=["eu-west-1", "us-east-1", "eu-west-1"])
    assert detail["regions"] == ["eu-west-1", "us-east-1"]
    assert "Regions: eu-west-1, us-east-1" in [e["message"] for e in await timeline(client, number)]
    postmortem = (await client.get(f"/api/v1/incidents/{number}/postmortem")).text
    assert "- Regions: eu-west-1, us-east-1" in postmortem
    cleared = await patch(client, number, regions=None)
    assert cleared["regions"] == []
    for bad in (["x" * 101], [""], "eu-west-1", ["a\nb"]):
        resp = await client.patch(f"/api/v1/incidents/{number}", json={"regions": bad})
        assert resp.status_code == 422, bad
        assert "regions" in str(resp.json()["detail"])


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    server: PrivatePostgres = request.getfixturevalue("postgres")
    return server.create_database(f"klaxon_old_{tmp_path.name[-12:].lower()}")


async def test_counts_stored_before_the_migration_stay_readable(fresh_url: str) -> None:
    await upgrade_async(fresh_url, "0010")
    engine = create_async_engine(fresh_url, poolclass=NullPool)
    async with engine.begin() as conn:
        for number, key in ((1, "a"), (2, "b")):
            await conn.execute(
                text(
                    "INSERT INTO incidents (number, title, status, severity, service, group_key,"
                    " labels, alert_count, firing_count, created_at, updated_at,"
                    " affected_customers) VALUES (:n, 'Old', 'resolved', 'SEV2', 'payments',"
                    " :k, '{}', 0, 0, '2026-11-01 10:00:00', '2026-11-01 10:00:00', :c)"
                ),
                {"n": number, "k": key, "c": 200 if number == 1 else None},
            )
    await upgrade_async(fresh_url, "head")
    async with engine.begin() as conn:
        # The partial unique index survived: resolved incidents share keys, open ones may not.
        insert = (
            "INSERT INTO incidents (number, title, status, severity, service, group_key, labels,"
            " alert_count, firing_count, created_at, updated_at) VALUES (:n, 'New', :s, 'SEV2',"
            " 'payments', 'a', '{}', 0, 0, '2026-11-02 10:00:00', '2026-11-02 10:00:00')"
        )
        await conn.execute(text(insert), {"n": 3, "s": "triggered"})
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text(insert), {"n": 4, "s": "triggered"})
    await engine.dispose()

    app = create_app(make_settings(fresh_url), clock=ManualClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://klaxon.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ) as client:
            old = (await client.get("/api/v1/incidents/1")).json()
            assert old["affected_customers"] == 200
            assert old["regions"] == []
            assert (await client.get("/api/v1/incidents/2")).json()["affected_customers"] is None


@pytest.mark.parametrize(
    ("given", "impact"),
    [(1, "1 customer affected"), ("1", "1 customer affected"), ("~3k", "~3k customers affected")],
)
async def test_a_status_update_says_the_customers_in_words(
    client: httpx.AsyncClient, given: Any, impact: str
) -> None:
    number = (await report(client))["number"]
    await patch(client, number, affected_customers=given)
    resp = await client.post(
        f"/api/v1/incidents/{number}/updates", json={"phase": "investigating", "message": "Looking"}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["impact"] == impact
