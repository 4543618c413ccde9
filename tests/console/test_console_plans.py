"""The console's query plans with a history stored, on PostgreSQL: the
incident list with each filter (status, severity, service, label, mine), an
incident page (its alerts, timeline, runbook, changes, updates, stakeholders,
post-mortem, action items, status page) and the live stream's change cursor
read no big table (alerts, incidents, notifications, timeline_events) from
end to end: no Seq Scan in any statement, as the API's history plans
(tests/incidents/test_history_plans.py, whose capture and EXPLAIN this uses).
What the bench (``make bench BENCH_ARGS=--console``) times, this keeps fast
as the history grows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from app.clock import ManualClock
from app.console.signin import start_session
from app.main import create_app
from app.migrate import upgrade_async
from app.oncall.store import get_responder
from tests.conftest import ADMIN_TOKEN, make_settings
from tests.helpers import WEBHOOK
from tests.incidents.test_history_plans import Capture, plans
from tests.paging import ONCALL, checkout_alert
from tests.perf.history import BIG_INCIDENT, HistorySize, fill
from tests.services.postgres import PrivatePostgres

DATABASE = "klaxon_console_plans"
SIZE = HistorySize(
    incidents=20_000, alerts=60_000, days=4 * 365, big_incident_alerts=1000, flapping_episodes=10
)
NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
# A console page lists 200 rows (the API's 50); a common label (a twelfth of the
# history here) is read through its GIN index as the API's list reads it.
LIST_READ_BOUND = 5_000


@pytest.fixture(scope="module")
async def history(postgres: PrivatePostgres) -> str:
    url = postgres.create_database(DATABASE)
    await upgrade_async(url)
    await fill(postgres.dsn_for(DATABASE), SIZE, NOW)
    return url


@pytest.fixture
async def console(history: str) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """A console client signed in as alice, and an open incident paged to her."""
    app = create_app(make_settings(history), clock=ManualClock(NOW))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://klaxon.test") as http:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            applied = await http.post("/api/v1/oncall-config", json=ONCALL, headers=admin)
            assert applied.status_code == 200, applied.text
            opened = await http.post(WEBHOOK, json=checkout_alert(), headers=admin)
            number = int(opened.json()["incidents"][0])
            runtime = app.state.runtime
            async with runtime.sessions() as session, session.begin():
                alice = await get_responder(session, "alice")
                assert alice is not None
                secret = await start_session(session, runtime.settings, alice.id, NOW)
            http.cookies.set("klaxon_session", secret, domain="klaxon.test")
            yield http, number


async def _no_seq_scan(
    postgres: PrivatePostgres, capture: Capture, read_bound: int | None = None
) -> None:
    assert capture.statements, "nothing was captured"
    failures = []
    for statement in capture.statements:
        wrong = await plans(postgres.dsn_for(DATABASE), statement, read_bound)
        if wrong:
            sql = " ".join(statement.sql.split())
            failures.append(f"{wrong}: {sql[sql.find(' FROM ') :][:400]} {statement.parameters}")
    assert failures == [], "plans that grow with history:\n" + "\n".join(failures)


async def _page(client: httpx.AsyncClient, path: str, **params: str) -> str:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200 and "<html" in answer.text, (path, answer.status_code)
    return answer.text


async def test_the_incident_list_with_each_filter_reads_through_indexes(
    console: tuple[httpx.AsyncClient, int], postgres: PrivatePostgres
) -> None:
    client, number = console
    with Capture() as capture:
        assert f'data-number="{number}"' in await _page(client, "/")
        for params in (
            {"status": "all"},
            {"status": "resolved"},
            {"status": "all", "severity": "SEV1"},
            {"status": "all", "service": "payments"},
            {"status": "all", "label": "team=team-3"},
            {"status": "all", "label": "team=nonexistent"},
            {"mine": "1"},
        ):
            await _page(client, "/", **params)
    await _no_seq_scan(postgres, capture, read_bound=LIST_READ_BOUND)


async def test_an_incident_page_reads_through_indexes(
    console: tuple[httpx.AsyncClient, int], postgres: PrivatePostgres
) -> None:
    client, number = console
    with Capture() as capture:
        await _page(client, f"/incidents/{number}")
        await _page(client, f"/incidents/{BIG_INCIDENT}")
    await _no_seq_scan(postgres, capture)
