"""A refused post stores nothing of itself, not even the repeats it carried.

Repeats are counted by one autocommitted statement (``app.ingest.repeats``)
before the delivery's transaction: it must only write for a delivery that has
nothing else to write.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from app.pipeline import process
from app.runtime import Runtime
from app.sources import alertmanager
from tests.helpers import am_alert, am_payload, incident, incidents, post

NUL = "\u0000"


def _repeat(summary: str) -> dict[str, Any]:
    return am_alert("fp-r", alertname="DiskFull", annotations={"summary": summary})


async def _r_as_stored(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    [only] = await incidents(client)
    [alert] = (await incident(client, only["number"]))["alerts"]
    return alert["occurrences"], alert["annotations"]


async def test_a_refused_post_counts_no_repeat_and_changes_no_annotation(
    client: httpx.AsyncClient,
) -> None:
    assert (await post(client, am_payload([_repeat("disk 91% full")]))).status_code == 200
    refused_alert = am_alert("fp-n", alertname="New", annotations={"summary": f"bad{NUL}"})
    resp = await post(client, am_payload([_repeat("disk 99% full"), refused_alert]))
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"] == ["body", "alerts", 1, "annotations"]
    assert "NUL" in error["msg"]
    assert await _r_as_stored(client) == (1, {"summary": "disk 91% full"})
    assert len(await incidents(client)) == 1


@pytest.mark.postgresql_only("SQLite stores a NUL; only PostgreSQL refuses a value here")
async def test_a_delivery_the_database_refuses_leaves_its_repeats_uncounted(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    """Past the door (the pipeline called directly): PostgreSQL refuses the
    NUL in the new alert's fingerprint inside the delivery's transaction (a
    title is made one line, so a NUL in a summary no longer reaches it)."""
    runtime: Runtime = app.state.runtime
    assert (await post(client, am_payload([_repeat("disk 91% full")]))).status_code == 200
    payload = alertmanager.AmWebhook.model_validate(
        am_payload([_repeat("disk 99% full"), am_alert("fp-n", alertname="New")])
    )
    payload.alerts[1].fingerprint = f"fp-n{NUL}"
    events = alertmanager.to_events(payload, received_at=runtime.clock.now())
    # Refused by the repeat statement (asyncpg's own error) or in the
    # transaction (SQLAlchemy's): either way before anything is written.
    with pytest.raises((DBAPIError, asyncpg.exceptions.DataError)):
        await process(runtime, events, actor="test")
    assert await _r_as_stored(client) == (1, {"summary": "disk 91% full"})
