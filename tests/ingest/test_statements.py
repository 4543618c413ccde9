"""How many statements a notification costs (issue 13): each is a round trip
to the database, and on a durable PostgreSQL each commit is a WAL flush.
Counted, not timed, so that the machine's load does not matter. The bounds are
today's counts: a change that adds a statement to the hot path fails here and
has to say why."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.models import alerts_table
from tests.helpers import WEBHOOK, am_alert, am_payload
from tests.sqlcount import counting

GROUP = '{}:{alertname="Checkout"}'


def _group(*fingerprints: str) -> dict[str, Any]:
    return am_payload(
        [
            am_alert(fp, alertname="CheckoutDown", service="checkout", instance=f"i-{fp[-2:]}")
            for fp in fingerprints
        ],
        group_key=GROUP,
    )


async def _post(app: FastAPI, client: httpx.AsyncClient, payload: dict[str, Any]) -> list[str]:
    with counting(app.state.runtime.engine) as seen:
        resp = await client.post(WEBHOOK, json=payload)
    assert resp.status_code == 200, resp.text
    return seen


#: Statements (round trips, BEGIN and COMMIT included) of each kind of
#: notification, per backend. A repeat on PostgreSQL is one autocommit
#: statement, shared with the repeats that arrive meanwhile.
REPEAT = {"sqlite": 3, "postgresql": 1}
NEW_ALERT = {"sqlite": 13, "postgresql": 11}
NEW_INCIDENT = {"sqlite": 15, "postgresql": 13}
#: A delivery resolving three of its four alerts: on PostgreSQL one statement
#: resolves them all (app/ingest/resolutions.py), on SQLite one each.
RESOLVE_THREE = {"sqlite": 10, "postgresql": 8}


@pytest.fixture
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


async def test_statements_per_notification(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    opened = await _post(app, client, _group("a000000000000001", "a000000000000002"))
    repeated = await _post(app, client, _group("a000000000000001", "a000000000000002"))
    grown = await _post(
        app, client, _group("a000000000000001", "a000000000000002", "a000000000000003")
    )
    assert len(repeated) <= REPEAT[backend], "\n".join(repeated)
    assert len(grown) <= NEW_ALERT[backend], "\n".join(grown)
    assert len(opened) <= NEW_INCIDENT[backend], "\n".join(opened)


async def test_statements_of_a_delivery_resolving_several_alerts(
    app: FastAPI, client: httpx.AsyncClient, backend: str
) -> None:
    fingerprints = [f"c00000000000000{n}" for n in range(4)]
    await _post(app, client, _group(*fingerprints))
    payload = _group(*fingerprints)
    for alert in payload["alerts"][1:]:
        alert["status"] = "resolved"
        alert["endsAt"] = alert["startsAt"]
    resolved = await _post(app, client, payload)
    assert len(resolved) <= RESOLVE_THREE[backend], "\n".join(resolved)
    async with app.state.runtime.engine.connect() as conn:
        rows = await conn.execute(
            select(alerts_table.c.fingerprint, alerts_table.c.status, alerts_table.c.occurrences)
            .where(alerts_table.c.fingerprint.in_(fingerprints))
            .order_by(alerts_table.c.fingerprint)
        )
        assert [tuple(row) for row in rows] == [
            (fingerprints[0], "firing", 2),
            *((fp, "resolved", 2) for fp in fingerprints[1:]),
        ]


CONCURRENT = 20


@pytest.mark.postgresql_only("repeats are coalesced on PostgreSQL (one writer on SQLite)")
async def test_concurrent_repeats_share_statements_and_each_is_counted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Twenty deliveries repeating twenty groups at once: fewer statements than
    deliveries, every delivery answered with its own repeats and incident, and
    every episode counted once per delivery."""
    groups = [_group(f"b{n:015x}") for n in range(CONCURRENT)]
    for payload in groups:
        payload["groupKey"] = payload["alerts"][0]["fingerprint"]
    opened = [await client.post(WEBHOOK, json=payload) for payload in groups]
    incidents = [resp.json()["incidents"] for resp in opened]
    with counting(app.state.runtime.engine) as seen:
        answers = await asyncio.gather(*(client.post(WEBHOOK, json=p) for p in groups))
    assert [a.status_code for a in answers] == [200] * CONCURRENT
    assert [(a.json()["repeats"], a.json()["incidents"]) for a in answers] == [
        (1, found) for found in incidents
    ]
    assert len(seen) < CONCURRENT, "concurrent repeats share statements"
    again = await asyncio.gather(*(client.post(WEBHOOK, json=p) for p in groups[:2]))
    assert [a.json()["repeats"] for a in again] == [1, 1]
    async with app.state.runtime.engine.connect() as conn:
        counts = (
            (
                await conn.execute(
                    select(alerts_table.c.occurrences).where(
                        alerts_table.c.fingerprint.in_(
                            [p["alerts"][0]["fingerprint"] for p in groups]
                        )
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(counts) == [2] * (CONCURRENT - 2) + [3, 3]
