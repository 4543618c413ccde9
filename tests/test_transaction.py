"""The commit boundary (app/transaction.py, ``Transaction`` in app/deps.py): hooks run
only after a commit, a rollback runs none, and a handler answers only once its
writes are committed, so a commit that fails is never a 2xx. A handler that
writes through the plain session (read-only) fails loudly; a heartbeat's ping
commits with the resolution it brings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from app.clock import ManualClock
from app.db import WriteOutsideTransaction
from app.deps import RuntimeDep, SessionDep, Transaction
from app.errors import KlaxonError
from app.models import heartbeats_table
from app.runtime import Runtime
from app.transaction import unit_of_work
from tests.helpers import incidents

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


async def test_discard_rolls_back_and_runs_no_hook(app: FastAPI, clock: ManualClock) -> None:
    runtime = _runtime(app)
    woken: list[str] = []
    async with unit_of_work(runtime) as uow:
        await uow.session.execute(insert(heartbeats_table).values(_heartbeat("d", clock)))
        uow.wake()
        uow.after_commit(lambda: woken.append("hook"))
        uow.discard()
    assert woken == []
    assert await _names(runtime) == []


def _plain_session_routes(app: FastAPI, clock: ManualClock) -> None:
    async def write_without_transaction(session: SessionDep) -> dict[str, str]:
        await session.execute(insert(heartbeats_table).values(_heartbeat("p", clock)))
        return {"status": "written"}

    async def change_without_transaction(session: SessionDep) -> dict[str, str]:
        await session.execute(update(heartbeats_table).values(interval_seconds=1))
        return {"status": "changed"}

    async def read(session: SessionDep) -> list[str]:
        rows = await session.execute(select(heartbeats_table.c.name).order_by("name"))
        return [name for (name,) in rows]

    app.add_api_route("/test/plain-write", write_without_transaction, methods=["POST"])
    app.add_api_route("/test/plain-change", change_without_transaction, methods=["POST"])
    app.add_api_route("/test/plain-read", read, methods=["GET"])


async def _raw(app: FastAPI, client: httpx.AsyncClient, method: str, path: str) -> httpx.Response:
    """A request whose server error is answered (a 500), not raised in the test."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://klaxon.test", headers=client.headers
    ) as raw:
        return await raw.request(method, path)


@contextlib.contextmanager
def _timeline_refused(app: FastAPI) -> Iterator[None]:
    """Every INSERT into the timeline fails (resolving an incident writes one)."""

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TIMELINE"):
            raise RuntimeError("the timeline refused the resolution")

    sync_engine = _runtime(app).engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(sync_engine, "before_cursor_execute", refuse)


async def test_a_handler_that_writes_without_the_transaction_fails_loudly(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """Before the read-only default, this handler answered 200 and its row was
    rolled back unseen when the session closed."""
    _plain_session_routes(app, clock)
    answer = await _raw(app, client, "POST", "/test/plain-write")
    assert answer.status_code == 500
    assert await _names(_runtime(app)) == []
    with pytest.raises(WriteOutsideTransaction, match="INSERT through a read-only session"):
        await client.post("/test/plain-write")
    assert await _names(_runtime(app)) == []


async def test_an_update_without_the_transaction_fails_too_and_reads_still_work(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    _plain_session_routes(app, clock)
    async with unit_of_work(_runtime(app)) as uow:
        await uow.session.execute(insert(heartbeats_table).values(_heartbeat("kept", clock)))
    assert (await _raw(app, client, "POST", "/test/plain-change")).status_code == 500
    read = await client.get("/test/plain-read")
    assert read.status_code == 200
    assert read.json() == ["kept"]
    async with _runtime(app).sessions() as session:
        interval = (await session.execute(select(heartbeats_table.c.interval_seconds))).scalar()
    assert interval == 60


async def test_a_ping_and_the_resolution_it_brings_commit_together(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """The ping is written in the pipeline's transaction: when resolving the
    expiry's incident fails, the ping is not kept either (it used to commit on
    its own first, leaving the heartbeat up and its incident open)."""
    heartbeats = "/api/v1/heartbeats"
    declared = await client.put(f"{heartbeats}/backup", json={"interval": 60, "grace": 0})
    assert declared.status_code == 201, declared.text
    clock.advance(minutes=2)
    await app.state.worker.run_due()
    [opened] = await incidents(client)
    assert opened["status"] == "triggered"

    with _timeline_refused(app):
        failed = await _raw(app, client, "POST", f"{heartbeats}/backup/ping")
    assert failed.status_code == 500
    state = (await client.get(f"{heartbeats}/backup")).json()
    assert (state["status"], state["last_ping_at"]) == ("expired", None)
    [still] = await incidents(client)
    assert still["status"] == "triggered"

    pinged = await client.post(f"{heartbeats}/backup/ping")
    assert pinged.status_code == 200, pinged.text
    assert pinged.json()["resolved_incidents"] == [opened["number"]]
    assert (await client.get(f"{heartbeats}/backup")).json()["status"] == "up"


async def test_deleting_a_heartbeat_whose_resolution_fails_keeps_it(
    app: FastAPI, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    heartbeats = "/api/v1/heartbeats"
    await client.put(f"{heartbeats}/retired", json={"interval": 60, "grace": 0})
    clock.advance(minutes=2)
    await app.state.worker.run_due()

    with _timeline_refused(app):
        failed = await _raw(app, client, "DELETE", f"{heartbeats}/retired")
    assert failed.status_code == 500
    assert (await client.get(f"{heartbeats}/retired")).status_code == 200
    assert (await client.delete(f"{heartbeats}/retired")).status_code == 204
    assert [i["status"] for i in await incidents(client)] == ["resolved"]
