"""The commit boundary (app/transaction.py, ``Transaction`` in app/deps.py): hooks run
only after a commit, a rollback runs none, and a handler answers only once its
writes are committed, so a commit that fails is never a 2xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from app.clock import ManualClock
from app.deps import RuntimeDep, Transaction
from app.errors import KlaxonError
from app.models import heartbeats_table
from app.runtime import Runtime
from app.transaction import unit_of_work

pytestmark = pytest.mark.asyncio


def _heartbeat(name: str, clock: ManualClock) -> dict[str, Any]:
    now = clock.now()
    return {
        "name": name,
        "interval_seconds": 60,
        "grace_seconds": 0,
        "severity": "warning",
        "labels": {},
        "status": "up",
        "expires_at": now,
        "created_at": now,
        "updated_at": now,
    }


async def _names(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        rows = await session.execute(select(heartbeats_table.c.name).order_by("name"))
        return [name for (name,) in rows]


def _runtime(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def test_hooks_run_after_the_commit_and_see_what_it_wrote(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime = _runtime(app)
    seen: list[list[str]] = []
    reads: list[Any] = []

    def hook() -> None:
        reads.append(_names(runtime))

    async with unit_of_work(runtime) as uow:
        await uow.session.execute(insert(heartbeats_table).values(_heartbeat("a", clock)))
        uow.after_commit(hook)
        uow.after_commit(hook)  # the same hook twice runs once
        assert reads == [], "nothing runs before the commit"
    for read in reads:
        seen.append(await read)
    assert seen == [["a"]]


async def test_a_rollback_runs_no_hook_and_keeps_nothing(app: FastAPI, clock: ManualClock) -> None:
    runtime = _runtime(app)
    woken: list[str] = []
    with pytest.raises(KlaxonError):
        async with unit_of_work(runtime) as uow:
            await uow.session.execute(insert(heartbeats_table).values(_heartbeat("b", clock)))
            uow.after_commit(lambda: woken.append("hook"))
            raise KlaxonError("refused half-way")
    assert woken == []
    assert await _names(runtime) == []


async def test_a_failing_hook_leaves_the_commit_and_the_other_hooks(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime = _runtime(app)
    woken: list[str] = []

    def broken() -> None:
        raise RuntimeError("a listener broke")

    async with unit_of_work(runtime) as uow:
        await uow.session.execute(insert(heartbeats_table).values(_heartbeat("c", clock)))
        uow.after_commit(broken)
        uow.after_commit(lambda: woken.append("second"))
    assert woken == ["second"]
    assert await _names(runtime) == ["c"]


async def test_wake_wakes_the_worker_and_the_live_pages_once_committed(
    app: FastAPI, clock: ManualClock
) -> None:
    runtime = _runtime(app)
    wakes: list[int] = []
    runtime.wake = lambda: wakes.append(runtime.changes.generation)
    generation = runtime.changes.generation
    async with unit_of_work(runtime) as uow:
        uow.wake()
        uow.wake()
        assert wakes == [] and runtime.changes.generation == generation
    assert wakes == [generation]
    assert runtime.changes.generation == generation + 1


def _routes(app: FastAPI, clock: ManualClock) -> None:
    async def write(tx: Transaction, runtime: RuntimeDep) -> dict[str, str]:
        await tx.session.execute(insert(heartbeats_table).values(_heartbeat("w", clock)))
        return {"status": "written"}

    async def write_then_refuse(tx: Transaction) -> dict[str, str]:
        await tx.session.execute(insert(heartbeats_table).values(_heartbeat("r", clock)))
        raise KlaxonError("the second half is invalid", status_code=422)

    app.add_api_route("/test/write", write, methods=["POST"])
    app.add_api_route("/test/write-then-refuse", write_then_refuse, methods=["POST"])


async def test_a_handler_that_refuses_half_way_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    _routes(app, clock)
    answer = await client.post("/test/write-then-refuse")
    assert answer.status_code == 422
    assert "second half" in answer.text
    assert await _names(_runtime(app)) == []


async def test_a_handler_answers_2xx_only_once_committed(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    _routes(app, clock)
    answer = await client.post("/test/write")
    assert answer.status_code == 200
    assert await _names(_runtime(app)) == ["w"]


async def test_a_commit_that_fails_is_the_handlers_error_not_a_2xx(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """With the dependency left after the response (FastAPI's default ``scope=
    "request"``) the client would get 200 for writes that were then lost."""
    _routes(app, clock)

    def refuse_commit(session: Session) -> None:
        raise RuntimeError("the database refused the commit")

    event.listen(Session, "before_commit", refuse_commit)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://klaxon.test", headers=client.headers
        ) as raw:
            answer = await raw.post("/test/write")
    finally:
        event.remove(Session, "before_commit", refuse_commit)
    assert answer.status_code >= 500
    async with _runtime(app).sessions() as session:
        count = (await session.execute(select(func.count()).select_from(heartbeats_table))).scalar()
    assert count == 0
