"""``klaxon serve`` on PostgreSQL, as deployed (issue 13): its web worker runs no
engine; the escalation engine runs in a child process (``klaxon engine``) that
the web worker wakes by NOTIFY, and whose metrics the web worker's scrape shows.
The engine here polls only every ten minutes, so a page that goes out at once
was woken. An engine that dies is started again
(no engine, no pages), and one that outlives ``klaxon serve`` is not left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, RULES
from tests.escalation.helpers import until
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ACCOUNT_SID, AUTH_TOKEN, KLAXON_NUMBER, ONCALL, checkout_alert
from tests.perf.measure import children, is_engine
from tests.services.klaxon import CLEAN_EXIT, KlaxonProcess

pytestmark = pytest.mark.postgresql_only("the engine's own process is PostgreSQL's (NOTIFY)")


def _engines(pid: int) -> list[int]:
    return [c for c in children(pid) if is_engine(c)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a parent that died) counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _serve(name: str, db: str, tmp_path: Path, **env: str) -> KlaxonProcess:
    """``klaxon serve`` on ``db`` with the tests' rules (not launched yet)."""
    settings = {
        "KLAXON_DATABASE_URL": db,
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_CONFIG": str(RULES),
        **env,
    }
    klaxon = str(Path(sys.executable).parent / "klaxon")
    return KlaxonProcess(name, settings, tmp_path, command=[klaxon, "serve"])


async def until_scraped(api: httpx.AsyncClient, wanted: dict[str, set[float]]) -> None:
    """Wait until a scrape of ``/metrics`` shows each sample at one of its values."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        text = (await api.get("/metrics")).text
        seen = {
            name: [
                float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)
            ]
            for name in wanted
        }
        if all(len(seen[n]) == 1 and seen[n][0] in values for n, values in wanted.items()):
            return
        assert loop.time() < deadline, f"scraped {seen}, wanted {wanted}"
        await asyncio.sleep(0.1)


async def _page_for(api: httpx.AsyncClient, fake: FakeTwilio, fingerprint: str) -> None:
    resp = await api.post("/api/v1/webhooks/alertmanager", json=checkout_alert(fingerprint))
    assert resp.status_code == 200, resp.text
    number = resp.json()["incidents"][0]
    await until(
        lambda: [m for m in fake.messages if f"#{number}" in str(m["body"])],
        f"the page of incident #{number}",
    )


async def test_serve_pages_through_its_engine_process_and_restarts_it(
    db: str, tmp_path: Path
) -> None:
    async with FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, phone_number=KLAXON_NUMBER) as fake:
        server = _serve(
            "klaxon-serve",
            db,
            tmp_path,
            KLAXON_LOG_LEVEL="info",
            KLAXON_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            KLAXON_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            KLAXON_TWILIO_FROM=KLAXON_NUMBER,
            KLAXON_TWILIO_API_URL=fake.api_url,
            KLAXON_ENGINE_POLL_SECONDS="600",
            TMPDIR=str(tmp_path),
        )
        server.launch()
        engine = 0
        try:
            await server.wait_ready(timeout=120)
            engine = (await until(lambda: _engines(server.pid), "the engine process"))[0]
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            async with httpx.AsyncClient(base_url=server.url, headers=headers) as api:
                applied = await api.post("/api/v1/oncall-config", json=ONCALL)
                assert applied.status_code == 200, applied.text
                await _page_for(api, fake, "5e7e000000000001")

                os.kill(engine, signal.SIGKILL)
                engine = (
                    await until(
                        lambda: [p for p in _engines(server.pid) if p != engine],
                        "the engine started again",
                    )
                )[0]
                await _page_for(api, fake, "5e7e000000000002")
                # One scrape of the web worker shows its own counters and the
                # engine's (one prometheus-client directory, issue 13.7): both
                # webhooks, and the second page once its outcome is recorded
                # (the first one's may not be: its engine was killed after
                # Twilio took it, the window for a double page).
                received = 'klaxon_alerts_received_total{source="alertmanager",status="firing"}'
                sent = 'klaxon_notifications_total{channel="sms",outcome="sent"}'
                await until_scraped(api, {received: {2.0}, sent: {1.0, 2.0}})
            assert "the escalation engine ended" in server.log_tail(200)
        finally:
            code = server.stop()
        # Stopped by SIGTERM, as uvicorn alone says it, once the engine had stopped.
        assert code == CLEAN_EXIT, server.log_tail(200)
        assert engine and not _alive(engine), "the engine stopped with klaxon serve"


async def test_an_engine_whose_serve_was_killed_stops(db: str, tmp_path: Path) -> None:
    server = _serve("klaxon-killed", db, tmp_path)
    server.launch()
    try:
        await server.wait_ready(timeout=120)
        engine = (await until(lambda: _engines(server.pid), "the engine process"))[0]
        server.kill()  # SIGKILL: no shutdown runs in klaxon serve
        await until(lambda: not _alive(engine), "the orphaned engine to stop", timeout=30)
    finally:
        server.stop()
