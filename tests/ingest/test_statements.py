"""How many statements a notification costs (issue 13): each is a round trip
to the database, and on a durable PostgreSQL each commit is a WAL flush.
Counted, not timed, so that the machine's load does not matter. The bounds are
today's counts: a change that adds a statement to the hot path fails here and
has to say why."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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


#: (statements on SQLite, on PostgreSQL) of each kind of notification.
REPEAT = {"sqlite": 4, "postgresql": 1}
NEW_ALERT = {"sqlite": 0, "postgresql": 0}
NEW_INCIDENT = {"sqlite": 0, "postgresql": 0}


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
    print(backend, "new incident", len(opened), "repeat", len(repeated), "new alert", len(grown))
    print("\n---\n".join(s.split("\n")[0][:150] for s in opened))
    print("=====\n" + "\n---\n".join(s.split("\n")[0][:150] for s in grown))
    assert len(repeated) <= REPEAT[backend], "\n".join(repeated)
    assert len(grown) <= NEW_ALERT[backend], "\n".join(grown)
    assert len(opened) <= NEW_INCIDENT[backend], "\n".join(opened)
