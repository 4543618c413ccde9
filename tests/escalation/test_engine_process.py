"""The engine in a process of its own (issue 13, app/wakeups.py): on PostgreSQL
``klaxon serve`` runs the escalation engine apart from its web workers, which
wake it with NOTIFY after a commit that made work due and tell it when they
reloaded the rules. Here the engine (``EngineProcess``) polls only every ten
minutes, so a page that goes out at once was woken by the notification."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from app import wakeups
from app.clock import ManualClock
from app.engine_process import EngineProcess
from app.rules import load_rules
from app.wakeups import WAKE, WakeSender
from tests.conftest import RULES
from tests.escalation.helpers import until
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, checkout_alert, open_incident, paging_settings, serve_paging
from tests.sqlcount import counting

pytestmark = pytest.mark.postgresql_only("LISTEN/NOTIFY is PostgreSQL's; SQLite has one process")

#: Far longer than any wait below: only a notification wakes the engine in time.
POLL = 600.0


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    """The tests' rules without the route whose policy tests/paging.py lacks, so
    that a reload is accepted."""
    path = tmp_path / "rules.yaml"
    document = yaml.safe_load(RULES.read_text())
    document["routes"] = [r for r in document["routes"] if r["name"] != "storage"]
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
async def engine(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, rules_file: Path
) -> AsyncIterator[EngineProcess]:
    settings = paging_settings(
        db, fake_twilio, config=rules_file, engine_enabled=True, engine_poll_seconds=POLL
    )
    process = EngineProcess(settings, clock)
    await process.start()
    assert process.listener is not None
    await asyncio.wait_for(process.listener.listening.wait(), 20)
    try:
        yield process
    finally:
        await process.stop()


async def test_a_web_worker_wakes_the_engine_process_and_the_page_goes_out(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, engine: EngineProcess, rules_file: Path
) -> None:
    async with serve_paging(db, fake_twilio, clock, config=rules_file, engine_notify=True) as web:
        sender = web.app.state.runtime.wake
        assert isinstance(sender, WakeSender)
        assert not web.app.state.runtime.settings.engine_enabled, "the web worker runs no engine"
        with counting(web.app.state.runtime.engine) as seen:
            await open_incident(web, checkout_alert())
        await until(lambda: bool(web.texts_to(ALICE)), "the first page")
        assert len(web.texts_to(ALICE)) == 1
        # Sent by the webhook's transaction itself, delivered with its commit:
        # no round trip after it, and none for a transaction rolled back.
        assert seen[-2:] == [WAKE, "COMMIT"], seen[-3:]
        assert sender.sent == 0


async def test_without_the_notification_the_engine_waits_for_its_poll(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, engine: EngineProcess, rules_file: Path
) -> None:
    """The other side of the test above: a web worker that does not notify
    leaves the page to the engine's next look, ten minutes away."""
    async with serve_paging(db, fake_twilio, clock, config=rules_file) as web:
        await open_incident(web, checkout_alert())
        await asyncio.sleep(1.0)  # ample for a woken engine (above), nothing to wait out
        assert web.texts_to(ALICE) == []
        engine.worker.wake()  # what the notification does
        await until(lambda: bool(web.texts_to(ALICE)), "the first page once woken")


async def test_rules_reloaded_by_a_web_worker_are_reloaded_by_the_engine(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, engine: EngineProcess, rules_file: Path
) -> None:
    async with serve_paging(db, fake_twilio, clock, config=rules_file, engine_notify=True) as web:
        before = engine.runtime.rules.current
        text = rules_file.read_text()
        rules_file.write_text(text.replace("checkout-oncall", "default"))
        assert load_rules(rules_file) != before
        resp = await web.api.post("/-/reload")
        assert resp.status_code == 200, resp.text
        await until(lambda: engine.runtime.rules.current != before, "the engine's reload")
        assert engine.runtime.rules.current == web.app.state.runtime.rules.current


async def test_an_engine_whose_listening_connection_is_lost_listens_again(
    db: str,
    fake_twilio: FakeTwilio,
    clock: ManualClock,
    engine: EngineProcess,
    rules_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL restarted, a proxy dropped the connection: the listener gets a
    new connection and LISTENs again, and the next notification wakes the engine
    as before (it would otherwise wait for its poll, ten minutes here)."""
    # Long enough for the wait below to see it not listening (checked every 50 ms).
    monkeypatch.setattr(wakeups, "RELISTEN_SECONDS", 0.5)
    listener = engine.listener
    assert listener is not None
    async with engine.runtime.engine.connect() as conn:
        dropped = await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE 'LISTEN %'"
            )
        )
        assert dropped.scalars().all() == [True], "one connection listens"
    await until(lambda: not listener.listening.is_set(), "the listener to see its loss")
    await asyncio.wait_for(listener.listening.wait(), 20)
    async with serve_paging(db, fake_twilio, clock, config=rules_file, engine_notify=True) as web:
        await open_incident(web, checkout_alert())
        await until(lambda: bool(web.texts_to(ALICE)), "the first page, woken anew")
