"""/metrics with several workers (issue 13.7): ``klaxon serve`` with
``KLAXON_WORKERS=2`` runs two real uvicorn worker processes, and one scrape,
whichever worker answers it, shows the whole server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict

from tests.conftest import ADMIN_TOKEN, RULES
from tests.helpers import WEBHOOK, am_alert, am_payload
from tests.services.klaxon import KlaxonProcess

RECEIVED = 'klaxon_alerts_received_total{source="alertmanager",status="firing"}'
RECEIVED_NAME = RECEIVED.partition("{")[0]
OPEN = 'klaxon_open_incidents{status="triggered"}'
MAX_POSTS = 300


def samples(text: str, name: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name)]


def worker_pids(tmp: Path) -> set[str]:
    """Workers that counted a received alert, from the files they keep their counters
    in. Not merely the files that exist: every worker creates its file at start, for
    the counters without labels (which start at 0)."""
    return {
        path.stem.split("_")[-1]
        for path in tmp.glob("klaxon-metrics-*/counter_*.db")
        if any(
            RECEIVED_NAME in key and value > 0
            for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        )
    }


async def _post(url: str, n: int) -> None:
    # A connection of its own each, so that both workers take some.
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        payload = am_payload([am_alert(f"workers{n:012x}", instance=f"web-{n}")])
        answer = await http.post(
            WEBHOOK, json=payload, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        assert answer.status_code == 200, answer.text


async def _scrape(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        answer = await http.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert answer.status_code == 200, answer.text
        return answer.text


async def test_one_scrape_shows_what_both_workers_counted(db: str, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {
        "KLAXON_DATABASE_URL": db,
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_CONFIG": str(RULES),
        "KLAXON_WORKERS": "2",
        "KLAXON_LOG_LEVEL": "warning",
        "TMPDIR": str(tmp),
    }
    klaxon = str(Path(sys.executable).parent / "klaxon")
    server = KlaxonProcess("klaxon-2w", env, tmp_path, command=[klaxon, "serve"])
    server.launch()
    try:
        await server.wait_ready(timeout=120)
        posted = 0
        while len(worker_pids(tmp)) < 2 and posted < MAX_POSTS:
            await asyncio.gather(*(_post(server.url, posted + k) for k in range(10)))
            posted += 10
        assert len(worker_pids(tmp)) == 2, (
            f"after {posted} posts, not two workers' counters: {sorted(tmp.rglob('*'))}"
        )
        scrapes = await asyncio.gather(*(_scrape(server.url) for _ in range(10)))
        for text in scrapes:
            assert samples(text, RECEIVED) == [posted], text
            # One value for the server (the gauge of the worker that last read the
            # database), not one per worker.
            assert samples(text, OPEN) == [1.0], text
    finally:
        assert server.stop() is not None
    assert list(tmp.glob("klaxon-metrics-*")) == [], "the workers' metrics were left behind"
