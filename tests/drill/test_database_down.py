"""Drill: PostgreSQL stops while webhooks stream in and pages go out.

Two Klaxon processes on loopback share a PostgreSQL server of the drill's own,
which is stopped abruptly (``pg_ctl stop -m immediate``) in the middle of a
stream of webhooks, with pages waiting on a slow Twilio, then started again.

The promise:

* While the database is down, a webhook answers 503 with ``Retry-After``
  (Alertmanager retries 5xx and gives up on 4xx), at once rather than after a
  hang; ``/readyz`` answers 503 on every replica, ``/healthz`` 200.
* Nothing is half-written: every incident has its alerts and its first step,
  every alert its incident.
* When the database is back, the retried webhooks land (here both the test's
  own retries and a real Alertmanager's), and escalation resumes: the pages
  pending go out, and the next steps fire when due.
* A page whose Twilio request was in flight when the database went away cannot
  have its outcome recorded; it goes out again when its claim expires. That
  is the same double-page window as a crash, and the drill counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.migrate import upgrade_async
from tests.drill._replicas import (
    ADVANCE_SECONDS,
    PAT,
    SAM,
    Answer,
    Delivery,
    Stored,
    assert_no_page_sent_twice,
    check_nothing_half_written,
    cluster,
    deliver,
    drill_now,
    due_work,
    eventually,
    incident_key,
    post_once,
    print_logs,
    read_stored,
    replica_env,
    set_up_oncall,
    storm_payload,
)
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import WEBHOOK
from tests.services.alertmanager import PrivateAlertmanager, private_alertmanager
from tests.services.klaxon import CLEAN_EXIT, KlaxonProcess, SharedClock, klaxon_processes
from tests.services.postgres import PrivatePostgres

BEFORE = 30  # groups streamed while the database goes away
DURING = 20  # groups posted while it is down
AM_GROUPS = [900, 901]  # groups Alertmanager delivers, fired while it is down
SLOW_TWILIO = 0.5


async def webhook_failures(am: PrivateAlertmanager, http: httpx.AsyncClient) -> float:
    """Alertmanager's count of failed webhook deliveries (each one it retries)."""
    text = (await http.get(f"{am.url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("alertmanager_notifications_failed_total")
        and 'integration="webhook"' in line
    )


async def test_database_down_mid_stream_is_503_then_everything_lands_and_pages(
    own_postgres: PrivatePostgres, fake: FakeTwilio, tmp_path: Path
) -> None:
    url = own_postgres.url
    await upgrade_async(url)
    clock = SharedClock(tmp_path / "clock-offset")
    env = replica_env(url, fake, clock, tmp_path)
    db = create_async_engine(url, poolclass=NullPool)
    async with (
        klaxon_processes(2, env, tmp_path) as replicas,
        httpx.AsyncClient(timeout=20.0) as http,
    ):
        try:
            await run_drill(own_postgres, replicas, http, fake, clock, db)
        except BaseException:
            print_logs(replicas, own_postgres)
            raise
        finally:
            own_postgres.start()  # a no-op when it runs
            await db.dispose()


async def run_drill(
    pg: PrivatePostgres,
    replicas: list[KlaxonProcess],
    http: httpx.AsyncClient,
    fake: FakeTwilio,
    clock: SharedClock,
    db: AsyncEngine,
) -> None:
    token = await set_up_oncall(http, replicas[0])

    with contextlib.ExitStack() as stack:
        am = await asyncio.to_thread(
            stack.enter_context,
            private_alertmanager(
                f"{replicas[1].url}{WEBHOOK}", token, group_by=["alertname", "cluster"]
            ),
        )
        try:
            await outage_and_recovery(pg, replicas, http, fake, clock, db, am, token)
        except BaseException:
            print(f"--- alertmanager ---\n{am.log_tail()}")
            raise


async def outage_and_recovery(
    pg: PrivatePostgres,
    replicas: list[KlaxonProcess],
    http: httpx.AsyncClient,
    fake: FakeTwilio,
    clock: SharedClock,
    db: AsyncEngine,
    am: PrivateAlertmanager,
    token: str,
) -> None:
    fake.set_delay(SLOW_TWILIO)
    stream = [Delivery(storm_payload(g, 2), first=g % 2) for g in range(BEFORE)]
    answers: list[Answer] = []
    gate = asyncio.Semaphore(4)

    async def send(delivery: Delivery) -> None:
        async with gate:
            replica = replicas[delivery.first]
            answers.append(await post_once(http, replica, delivery, token))

    async def stop_mid_stream() -> float:
        """Stop once the stream is going, just after Twilio took a request: its
        answer comes back when the database is gone."""

        async def going_and_sending() -> bool:
            just_sent = [
                r
                for r in fake.requests
                if r["status"] is None and time.monotonic() - r["received_at"] < 0.1
            ]
            return sum(a.status == 200 for a in answers) >= BEFORE // 3 and bool(just_sent)

        await eventually(going_and_sending, "the stream to get going", interval=0.01)
        stopped = time.monotonic()
        await asyncio.to_thread(pg.stop)
        return stopped

    stopper = asyncio.create_task(stop_mid_stream())
    await asyncio.gather(*(send(d) for d in stream))
    stopped_at = await stopper

    # Down: every webhook is a 503 with Retry-After, on every replica.
    during = [Delivery(storm_payload(g, 2), first=g % 2) for g in range(BEFORE, BEFORE + DURING)]
    # Bounded: the replicas give the database KLAXON_DB_CONNECT_TIMEOUT (2 s).
    down = await asyncio.gather(
        *(post_once(http, replicas[d.first], d, token, timeout=10.0) for d in during)
    )
    assert {(a.status, a.retry_after is not None) for a in down} == {(503, True)}
    # Mid-stream, each webhook either landed or was refused to be retried.
    assert {a.status for a in answers} <= {200, 503}, [a.status for a in answers]
    for replica in replicas:
        ready = await http.get(f"{replica.url}/readyz")
        assert ready.status_code == 503, ready.text
        assert (await http.get(f"{replica.url}/healthz")).status_code == 200

    # Alertmanager's notifications fail too, and it keeps retrying them.
    failed_before = await webhook_failures(am, http)

    async def retrying() -> bool:
        return await webhook_failures(am, http) >= failed_before + 2

    for group in AM_GROUPS:
        await asyncio.to_thread(
            am.fire,
            {"alertname": "DrillStorm", "cluster": cluster(group), "severity": "warning"},
            {"summary": f"cluster {cluster(group)} is failing"},
        )
    await eventually(retrying, "Alertmanager to fail and retry")
    for replica in replicas:
        assert replica.running

    await asyncio.to_thread(pg.start)
    restarted_wall = datetime.now(UTC)
    fake.set_delay(0.0)

    async def all_ready() -> bool:
        answers = [await http.get(f"{r.url}/readyz") for r in replicas]
        return all(a.status_code == 200 for a in answers)

    await eventually(all_ready, "every replica to be ready")

    # Retried, as Alertmanager would: every refused webhook lands now.
    refused = [a.delivery for a in answers + down if a.status != 200]
    for delivery in refused:
        await deliver(http, replicas, delivery, token)
    landed = [a.delivery for a in answers if a.status == 200] + refused

    async def alertmanager_landed() -> Stored | None:
        stored = await read_stored(db)
        keys = {i.group_key for i in stored.incidents}
        return stored if all(incident_key(g) in keys for g in AM_GROUPS) else None

    landed_all = await eventually(alertmanager_landed, "Alertmanager's retry to land")
    check_nothing_half_written(landed_all, landed, AM_GROUPS)
    assert len(landed_all.incidents) == BEFORE + DURING + len(AM_GROUPS)

    # Escalation resumes: the first steps fire and every page not stuck in a
    # claim from before the outage goes out.
    async def first_steps_done() -> Stored | None:
        stored = await read_stored(db)
        firsts = [s for s in stored.steps if (s.round, s.step_index) == (0, 0)]
        ok = len(firsts) == len(stored.incidents) and all(s.status == "done" for s in firsts)
        return stored if ok and not due_work(stored, drill_now(clock)) else None

    resumed = await eventually(first_steps_done, "the first steps after the restart")
    check_nothing_half_written(resumed, landed, AM_GROUPS)

    # Sends Twilio answered while the database was down are recorded once it is
    # back, before their claims expire: none of them goes out again.
    async def every_send_recorded() -> Stored | None:
        stored = await read_stored(db)
        sids = {n.twilio_sid for n in stored.notifications}
        return stored if all(m["sid"] in sids for m in fake.messages) else None

    recorded = await eventually(
        every_send_recorded, "the sends Twilio took during the outage to be recorded"
    )
    sent_at = {n.twilio_sid: n.sent_at for n in recorded.notifications}
    across_outage = [
        m["sid"]
        for m in fake.messages
        if m["received_at"] < stopped_at and sent_at[m["sid"]] >= restarted_wall
    ]
    assert across_outage, "no send was in flight when the database stopped"

    # Step 2 comes due, and claims cut off by the outage expire.
    clock.advance(ADVANCE_SECONDS)

    async def all_paged() -> Stored | None:
        stored = await read_stored(db)
        seconds = [s for s in stored.steps if (s.round, s.step_index) == (0, 1)]
        done = len(seconds) == len(stored.incidents) and all(s.status == "done" for s in seconds)
        settled = all(n.state == "sent" for n in stored.notifications)
        return stored if done and settled and not due_work(stored, drill_now(clock)) else None

    after = await eventually(all_paged, "every step 2 page")
    check_nothing_half_written(after, landed, AM_GROUPS)
    for incident in after.incidents:
        steps = after.steps_of(incident.number)
        for position, phone in (((0, 0), PAT), ((0, 1), SAM)):
            [page] = after.pages_of_step(steps[position].id)
            assert (page.to_number, page.state) == (phone, "sent")
    assert_no_page_sent_twice(fake, after)
    # And nothing hangs: each replica shuts down cleanly when asked.
    for replica in replicas:
        assert await asyncio.to_thread(replica.stop) == CLEAN_EXIT, replica.log_tail()
    print(
        f"\ndatabase drill: {len(answers) + len(down)} webhooks, "
        f"{len(refused)} answered 503 and retried, {len(after.incidents)} incidents "
        f"({len(AM_GROUPS)} through Alertmanager), {len(after.notifications)} pages in "
        f"{len(fake.messages)} SMS; {len(across_outage)} SMS answered by Twilio while the "
        f"database was down, recorded after the restart; pages sent twice: 0"
    )
