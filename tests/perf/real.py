"""The real case: Klaxon as ``make run`` starts it, on a durable PostgreSQL, with
the example on-call applied and paging live against the fake Twilio, fed the
fleet's Alertmanager notifications; beside it, the no-database ceiling.

Every run starts its server on a fresh database and returns a dict of figures.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson
import yaml

from app.migrate import upgrade
from tests.fakes.twilio_server import FakeTwilio
from tests.perf.load import LoadResult, Observer, percentile, run_fleet
from tests.perf.measure import ProcessSampler, growth
from tests.perf.payloads import Group, largest_storm, make_alert
from tests.perf.server import ROOT, Served, klaxon_env, serve
from tests.services.postgres import PrivatePostgres

ADMIN = "bench-admin-token"
SID = "AC" + "b" * 32
AUTH = "bench-twilio-token"
ONCALL = ROOT / "deploy" / "oncall.example.yaml"
BODY_LIMIT = 1024 * 1024  # Klaxon's default KLAXON_MAX_BODY_BYTES
PROBE_EVERY = 50  # in the paging run, one post in this many opens a new SEV2 incident
WARMUP = 2.0  # seconds of load after the first round, before the measured ones


class TwilioThread:
    """The fake Twilio on its own event loop in a thread, so the load generator's
    busy loop does not delay its answers (its ``received_at`` is time.monotonic())."""

    def __init__(self) -> None:
        self.fake = FakeTwilio(SID, AUTH)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.fake:
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the fake Twilio did not start")
        return self.fake

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def twilio_env(fake: FakeTwilio) -> dict[str, str]:
    return {
        "KLAXON_TWILIO_ACCOUNT_SID": SID,
        "KLAXON_TWILIO_AUTH_TOKEN": AUTH,
        "KLAXON_TWILIO_API_URL": fake.api_url,
    }


async def prepare(url: str) -> str:
    """Apply the example on-call (as ``make run`` does) and make the ingest token
    an Alertmanager would use; returns the token."""
    headers = {"Authorization": f"Bearer {ADMIN}"}
    document = yaml.safe_load(ONCALL.read_text())
    async with aiohttp.ClientSession(headers=headers) as http:
        # orjson, not json: YAML gives datetimes (a layer's start), which it
        # writes back as the same ISO text.
        data, json_type = orjson.dumps(document), {"Content-Type": "application/json"}
        async with http.post(f"{url}/api/v1/oncall-config", data=data, headers=json_type) as resp:
            if resp.status != 200:
                raise RuntimeError(f"oncall-config: {resp.status} {await resp.text()}")
        body = {"name": "alertmanager", "scope": "ingest"}
        async with http.post(f"{url}/api/v1/tokens", json=body) as resp:
            if resp.status != 201:
                raise RuntimeError(f"tokens: {resp.status} {await resp.text()}")
            token: str = (await resp.json())["token"]
    return token


async def postgres_settings(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        names = ("fsync", "synchronous_commit", "full_page_writes", "server_version")
        return {n: str(await conn.fetchval(f"SHOW {n}")) for n in names}
    finally:
        await conn.close()


def fresh_database(pg: PrivatePostgres, name: str) -> str:
    url = pg.create_database(name)
    upgrade(url)
    return url


@contextmanager
def klaxon(
    pg: PrivatePostgres, name: str, fake: FakeTwilio, *, workers: int, env: dict[str, str]
) -> Iterator[tuple[Served, str]]:
    url = fresh_database(pg, name)
    full_env = {**klaxon_env(url, ADMIN), **twilio_env(fake), **env}
    with serve("app.asgi:app", full_env, workers=workers) as served:
        yield served, asyncio.run(prepare(served.url))


def sampled_load(served: Served, token: str, **options: Any) -> tuple[dict[str, Any], LoadResult]:
    sampler = ProcessSampler(served.pid)
    sampler.start()
    try:
        result = asyncio.run(run_fleet(served.url, token, **options))
    finally:
        sampler.stop()
    return {**result.summary(), "server": sampler.summary()}, result


def ceiling_run(*, workers: int, seconds: float, connections: int) -> dict[str, Any]:
    token = "bench-ceiling-token"
    env = {"KLAXON_BENCH_CEILING_TOKEN": token}
    with serve("tests.perf.ceiling:app", env, workers=workers, ready_path="/openapi.json") as s:
        return sampled_load(s, token, seconds=seconds, connections=connections)[0]


def ingest_run(
    pg: PrivatePostgres,
    fake: FakeTwilio,
    *,
    workers: int,
    seconds: float,
    connections: int,
    resolve_share: float = 0.0,
) -> dict[str, Any]:
    name = f"bench_{workers}w_{int(resolve_share * 100)}pct"
    sms_before = len(fake.messages)
    with klaxon(pg, name, fake, workers=workers, env={}) as (served, token):
        figures, _ = sampled_load(
            served, token, seconds=seconds, connections=connections, resolve_share=resolve_share
        )
    figures["sms_at_fake"] = len(fake.messages) - sms_before
    return figures


def storm_run(pg: PrivatePostgres, fake: FakeTwilio, *, timeout: float = 120.0) -> dict[str, Any]:
    """The largest notification of new alerts that fits the body limit, posted once
    to a fresh database. A refusal is a figure (its status), not a crash."""
    size, body = largest_storm(BODY_LIMIT, datetime.now(UTC))
    figures: dict[str, Any] = {"alerts": size, "bytes": len(body), "limit": BODY_LIMIT}
    with klaxon(pg, "bench_storm", fake, workers=1, env={}) as (served, token):

        async def post() -> None:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            limit = aiohttp.ClientTimeout(total=timeout)
            started = time.monotonic()
            try:
                async with (
                    aiohttp.ClientSession(timeout=limit) as http,
                    http.post(
                        f"{served.url}/api/v1/webhooks/alertmanager", data=body, headers=headers
                    ) as resp,
                ):
                    answer = await resp.read()
                    figures["status"] = resp.status
                    if resp.status != 200:
                        figures["answer"] = answer[:300].decode(errors="replace")
            except (aiohttp.ClientError, TimeoutError) as exc:
                figures["status"] = f"no answer ({type(exc).__name__})"
            figures["seconds"] = round(time.monotonic() - started, 3)

        asyncio.run(post())
    figures["ok"] = figures["status"] == 200
    return figures


class Probes:
    """New SEV2 incidents opened during the paging run, and when their webhook
    left; and when the run's measured seconds began (after the warm-up that
    follows the first round, in which the worker still fires and sends the
    first round's hundred new incidents)."""

    def __init__(self, warmup: float) -> None:
        self.opened_at: dict[int, float] = {}
        self.sent = 0
        self.warmup = warmup
        self.measure_from: float | None = None  # time.monotonic(), as ``sent``

    def steady(self) -> None:
        self.measure_from = time.monotonic() + self.warmup

    def latencies(self, first_page: dict[int, float], *, measured: bool) -> list[float]:
        """Webhook → first page of the probes sent in the measured seconds, or
        of all of them (warm-up included)."""
        start = self.measure_from if measured and self.measure_from is not None else 0.0
        return [
            first_page[n] - t for n, t in self.opened_at.items() if n in first_page and t >= start
        ]

    def __call__(self, i: int) -> tuple[bytes, Observer] | None:
        if i % PROBE_EVERY != PROBE_EVERY // 2:
            return None
        self.sent += 1
        name = f"ProbeDown{i}"
        item = make_alert(
            name, "payments", 0, critical=True, env="prod", starts_at=datetime.now(UTC)
        )
        body = Group(name, "payments", [item]).body()
        return body, self.observe

    def observe(self, sent: float, status: int, answer: Any) -> None:
        if status == 200:
            for number in orjson.loads(answer)["incidents"]:
                self.opened_at.setdefault(number, sent)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def paging_run(
    pg: PrivatePostgres, fake: FakeTwilio, *, seconds: float, rate: float, connections: int
) -> dict[str, Any]:
    """alert → first page, and step lag, while the fleet posts at ``rate``/s."""
    # The per-number throttle would hold these pages for its window (15 minutes):
    # raised here, this run measures the engine, not the throttle.
    env = {"KLAXON_THROTTLE_SMS": "100000", "KLAXON_THROTTLE_CALLS": "100000"}
    probes = Probes(WARMUP)
    first_message = len(fake.messages)
    with klaxon(pg, "bench_paging", fake, workers=1, env=env) as (served, token):
        figures, result = sampled_load(
            served,
            token,
            seconds=seconds,
            connections=connections,
            rate=rate,
            warmup=WARMUP,
            extra=probes,
            on_steady=probes.steady,
        )
        time.sleep(5)  # the last pages of the run go out
        # Steps and pages due in the measured seconds, as the ingest figures
        # are: the steady state, not the first round's 100 new incidents
        # (whose paging runs into the warm-up; with it, reported apart).
        assert result.steady_from is not None
        measured_from = result.steady_from + timedelta(seconds=WARMUP)
        lags = asyncio.run(_lags(pg.dsn_for("bench_paging"), measured_from))
        since_first_round = asyncio.run(_lags(pg.dsn_for("bench_paging"), result.steady_from))
    first_page: dict[int, float] = {}
    for message in fake.messages[first_message:]:
        for number in re.findall(r"#(\d+)\b", str(message["body"])):
            first_page.setdefault(int(number), float(message["received_at"]))
    latencies = probes.latencies(first_page, measured=True)
    every = probes.latencies(first_page, measured=False)
    figures.update(
        {
            "rate": rate,
            "incidents_opened": len(probes.opened_at),
            "paged": len(every),
            # In the measured seconds, as the ingest figures are:
            "first_page_measured": len(latencies),
            "first_page_p50_ms": _ms(percentile(latencies, 50)),
            "first_page_p99_ms": _ms(percentile(latencies, 99)),
            # Every probe, the warm-up's too (the first round's burst still paging):
            "first_page_all_p50_ms": _ms(percentile(every, 50)),
            "first_page_all_p99_ms": _ms(percentile(every, 99)),
            "step_lag_p50_ms": _ms(percentile(lags["step"], 50)),
            "step_lag_p99_ms": _ms(percentile(lags["step"], 99)),
            "steps": len(lags["step"]),
            "send_lag_p50_ms": _ms(percentile(lags["send"], 50)),
            "send_lag_p99_ms": _ms(percentile(lags["send"], 99)),
            "sends": len(lags["send"]),
            # Since the first round was posted, the warm-up's steps included:
            "step_lag_all_p99_ms": _ms(percentile(since_first_round["step"], 99)),
            "send_lag_all_p99_ms": _ms(percentile(since_first_round["send"], 99)),
        }
    )
    return figures


async def _lags(dsn: str, since: datetime) -> dict[str, list[float]]:
    """Step lag (a step's due time → it fired) and send lag (a page's due time → the
    fake Twilio accepted it), from the escalation_steps and notifications rows."""
    conn = await asyncpg.connect(dsn)
    try:
        step = await conn.fetch(
            "SELECT extract(epoch FROM finished_at - due_at) FROM escalation_steps "
            "WHERE finished_at IS NOT NULL AND due_at >= $1",
            since,
        )
        send = await conn.fetch(
            "SELECT extract(epoch FROM sent_at - due_at) FROM notifications "
            "WHERE kind = 'page' AND sent_at IS NOT NULL AND due_at >= $1",
            since,
        )
    finally:
        await conn.close()
    return {"step": [float(r[0]) for r in step], "send": [float(r[0]) for r in send]}


def server_settings(pg: PrivatePostgres) -> dict[str, str]:
    return asyncio.run(postgres_settings(pg.dsn))


def soak_run(
    pg: PrivatePostgres, fake: FakeTwilio, *, seconds: float, rate: float, connections: int
) -> dict[str, Any]:
    """Memory over a long steady load (issue 13.6): one worker at ``rate``
    webhooks/s for ``seconds``; RSS sampled every 5 s, its growth measured
    from the end of the first minute."""
    warmup = 60.0
    with klaxon(pg, "bench_soak", fake, workers=1, env={}) as (served, token):
        sampler = ProcessSampler(served.pid, interval=5.0)
        sampler.start()
        try:
            result = asyncio.run(
                run_fleet(served.url, token, seconds=seconds, connections=connections, rate=rate)
            )
        finally:
            sampler.stop()
    engines = sampler.engines_seen  # recorded as the sampler stopped
    per_process = [
        {"process": "engine" if pid in engines else "web", **growth(values, 5.0, warmup)}
        for pid, values in sorted(sampler.samples.items())
    ]
    return {
        "seconds": seconds,
        "rate": rate,
        **{k: v for k, v in result.summary().items() if k in ("webhooks_per_s", "errors")},
        "workers": sorted(per_process, key=lambda w: w["process"] == "engine"),  # web first
    }
