"""Paging latency under load: webhooks at a fixed rate (default 200/s) against
Klaxon on PostgreSQL whose Twilio is a fake on loopback in this process. Most
webhooks repeat known SEV4 alerts (recorded, not paged: the steady noise of a
busy Alertmanager); one in fifty opens a new SEV2 incident that pages.

- alert → first page: from sending the webhook that opened an incident to the
  fake Twilio receiving that incident's first SMS (one clock: this process);
- step lag: from an escalation step's due time to when it fired, read from
  the escalation_steps rows afterwards.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import yaml

from tests.fakes.twilio_server import FakeTwilio
from tests.perf.ingest import alert
from tests.perf.server import klaxon_replicas

TEAMS = 50
SID = "AC" + "b" * 32
AUTH = "bench-twilio-token"


def rules_file(folder: Path) -> Path:
    rules = {
        "routes": [
            {
                "name": f"team-{i}",
                "matchers": [f'team="t{i}"'],
                "policy": f"p{i}",
                "group_by": ["alertname", "team", "incident"],
            }
            for i in range(TEAMS)
        ]
    }
    path = folder / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def oncall() -> dict[str, Any]:
    return {
        "responders": [{"name": f"r{i}", "phone": f"+1555100{i:04d}"} for i in range(TEAMS)],
        "policies": [
            {
                "name": f"p{i}",
                "steps": [
                    # Step 2 comes due 3 s after step 1 fired, inside the run.
                    {
                        "targets": {"responders": [f"r{i}"]},
                        "channels": ["sms"],
                        "delay_minutes": 0.05,
                    },
                    {
                        "targets": {"responders": [f"r{(i + 1) % TEAMS}"]},
                        "channels": ["sms"],
                        "delay_minutes": 60,
                    },
                ],
            }
            for i in range(TEAMS)
        ],
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def run(
    database_url: str, dsn: str, token: str, *, seconds: float, rate: float, replicas: int = 2
) -> str:
    async with FakeTwilio(SID, AUTH) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "KLAXON_CONFIG": str(rules_file(Path(tmp))),
                "KLAXON_TWILIO_ACCOUNT_SID": SID,
                "KLAXON_TWILIO_AUTH_TOKEN": AUTH,
                "KLAXON_TWILIO_API_URL": fake.api_url,
                "KLAXON_THROTTLE_SMS": "100000",
                "KLAXON_THROTTLE_CALLS": "100000",
            }
            with klaxon_replicas(database_url, token, replicas, extra_env=env) as urls:
                return await _drive(urls, dsn, token, fake, seconds=seconds, rate=rate)


async def _drive(
    urls: list[str], dsn: str, token: str, fake: FakeTwilio, *, seconds: float, rate: float
) -> str:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    opened_at: dict[int, float] = {}
    errors = 0
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{urls[0]}/api/v1/oncall-config", data=orjson.dumps(oncall()), headers=headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"oncall-config: {resp.status} {await resp.text()}")

        def body_for(i: int, new: bool) -> bytes:
            item = alert(i % 1000)
            item["labels"] |= {
                "team": f"t{i % TEAMS}",
                "incident": str(i) if new else "noise",
                "severity": "critical" if new else "info",
            }
            item["fingerprint"] = f"{i + 10**6:016x}" if new else f"{i % 1000:016x}"
            return orjson.dumps(
                {
                    "status": "firing",
                    "alerts": [item],
                    "groupKey": f"bench{i if new else 'noise'}",
                    "version": "4",
                }
            )

        async def post_noise(i: int) -> None:
            async with session.post(
                f"{urls[i % len(urls)]}/api/v1/webhooks/alertmanager",
                data=body_for(i, False),
                headers=headers,
            ) as resp:
                await resp.read()

        # The noise is known before the measured run starts.
        for start in range(0, 1000, 50):
            await asyncio.gather(*(post_noise(i) for i in range(start, start + 50)))

        async def one(i: int) -> None:
            nonlocal errors
            new = i % 50 == 0
            body = body_for(i, new)
            sent = time.monotonic()
            try:
                async with session.post(
                    f"{urls[i % len(urls)]}/api/v1/webhooks/alertmanager",
                    data=body,
                    headers=headers,
                ) as resp:
                    answer = await resp.json()
                    if resp.status != 200:
                        errors += 1
                        return
            except aiohttp.ClientError:
                errors += 1
                return
            if new:
                for number in answer["incidents"]:
                    opened_at.setdefault(number, sent)

        tasks: list[asyncio.Task[None]] = []
        began = time.monotonic()
        total = int(seconds * rate)
        for i in range(total):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        # Let the last pages and steps due inside the run go out.
        await asyncio.sleep(5)

    first_page: dict[int, float] = {}
    for message in fake.messages:
        for number in re.findall(r"#(\d+)\b", str(message["body"])):
            first_page.setdefault(int(number), float(message["received_at"]))
    latencies = [first_page[n] - t for n, t in opened_at.items() if n in first_page]
    conn = await asyncpg.connect(dsn)
    try:
        lags = [
            float(r[0])
            for r in await conn.fetch(
                "SELECT extract(epoch FROM finished_at - due_at) FROM escalation_steps "
                "WHERE step_index = 1 AND finished_at IS NOT NULL"
            )
        ]
        breakdown = await conn.fetchrow(
            """
            WITH e AS (
              SELECT i.number, i.created_at,
                     min(t.at) FILTER (WHERE t.kind = 'escalated') AS fired,
                     min(t.at) FILTER (WHERE t.kind = 'notified') AS sent
                FROM incidents i JOIN timeline_events t ON t.incident_number = i.number
               GROUP BY i.number, i.created_at)
            SELECT percentile_cont(0.5)
                     WITHIN GROUP (ORDER BY extract(epoch FROM fired - created_at)),
                   percentile_cont(0.5)
                     WITHIN GROUP (ORDER BY extract(epoch FROM sent - fired))
              FROM e WHERE fired IS NOT NULL AND sent IS NOT NULL
            """
        )
    finally:
        await conn.close()
    return (
        f"paging ({len(urls)} replica(s), {rate:.0f} webhooks/s for {seconds:.0f} s, "
        f"{len(opened_at)} incidents opened, "
        f"{len(fake.messages)} SMS at the fake, {errors} webhook errors): "
        f"alert→first page p50 {_percentile(latencies, 50) * 1000:.0f} ms, "
        f"p99 {_percentile(latencies, 99) * 1000:.0f} ms ({len(latencies)} measured, "
        f"{len(opened_at) - len(latencies)} without a page; inside Klaxon p50 "
        f"{float(breakdown[0] or 0) * 1000:.0f} ms incident→step fired, "
        f"{float(breakdown[1] or 0) * 1000:.0f} ms step→SMS accepted); "
        f"step lag p50 {_percentile(lags, 50) * 1000:.0f} ms, "
        f"p99 {_percentile(lags, 99) * 1000:.0f} ms ({len(lags)} steps)"
    )
