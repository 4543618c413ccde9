"""Drill: a replica is SIGKILLed in the middle of an alert storm.

Three Klaxon processes on loopback share one PostgreSQL database. An alert
storm arrives, spread over them as a load balancer would, and one process is
killed with SIGKILL while a page it sent is still waiting for Twilio's answer.

The promise:

* Every webhook answered 2xx is in the database; a webhook cut off by the kill
  is retried on another replica, and the retry changes nothing that landed.
* Each alert group is one incident, however many replicas it reached.
* No page is lost: every incident's step 1 texted the primary and its step 2
  the secondary. The pages the dead process had claimed go out from a
  survivor once their lease expires.
* A page can go out twice only if the dead process had claimed it: Twilio
  accepted it and the process died before recording that. Here the kill is
  timed to hit that window, so it is seen, and counted.

The replicas share a clock through ``KLAXON_CLOCK_OFFSET_FILE``; the test moves
it forward to make step 2 due and the dead process's leases expire.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.migrate import upgrade_async
from tests.drill._replicas import (
    ADMIN_TOKEN,
    ADVANCE_SECONDS,
    ONCALL,
    PAT,
    SAM,
    Delivery,
    Stored,
    callback_notification,
    deliver,
    drill_now,
    due_work,
    eventually,
    fingerprints_of,
    incident_key,
    incidents_named,
    pages_in,
    read_stored,
    replica_env,
    storm_payload,
)
from tests.fakes.twilio_server import FakeTwilio
from tests.services.klaxon import CLEAN_EXIT, KlaxonProcess, SharedClock, klaxon_processes
from tests.services.postgres import PrivatePostgres

GROUPS = 100
INSTANCES = 3  # alerts per group; Alertmanager resends the group as each joins
#: Twilio takes this long to answer while the storm runs, so that sends are in
#: flight when the process dies.
SLOW_TWILIO = 0.5


@pytest.fixture
async def drill_database(postgres: PrivatePostgres) -> str:
    url = postgres.create_database("klaxon_drill_replica_killed")
    await upgrade_async(url)
    return url


def storm() -> list[Delivery]:
    """Every group's notifications as its alerts join (1, 2, then 3 alerts), and
    a repeat of the full group, shuffled, each first sent to the next replica in
    turn."""
    payloads = [
        storm_payload(group, instances)
        for group in range(GROUPS)
        for instances in (*range(1, INSTANCES + 1), INSTANCES)
    ]
    random.Random(7).shuffle(payloads)
    return [Delivery(payload, first=i % 3) for i, payload in enumerate(payloads)]


async def kill_while_sending(
    victim: KlaxonProcess, fake: FakeTwilio, answered: list[Delivery], after: int
) -> list[int]:
    """Once ``after`` webhooks are answered, SIGKILL ``victim`` at a moment when
    Twilio holds a request of its unanswered; returns those requests'
    notifications. Checking and killing happen with no await between them, so
    the fake (on this event loop) cannot answer in between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        if len(answered) >= after:
            in_flight = [
                r
                for r in fake.requests
                if r["method"] == "POST"
                and r["status"] is None
                and r["form"].get("StatusCallback", "").startswith(victim.url)
            ]
            if in_flight:
                victim.kill()
                return [callback_notification(r) for r in in_flight]
        if loop.time() > deadline:
            raise AssertionError("the victim never had a send in flight")
        await asyncio.sleep(0.005)


async def test_a_replica_killed_mid_storm_loses_no_incident_and_no_page(
    drill_database: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    clock = SharedClock(tmp_path / "clock-offset")
    env = replica_env(drill_database, fake, clock, tmp_path)
    db = create_async_engine(drill_database, poolclass=NullPool)
    async with (
        klaxon_processes(3, env, tmp_path) as replicas,
        httpx.AsyncClient(timeout=20.0) as http,
    ):
        try:
            await run_drill(replicas, http, fake, clock, db)
        except BaseException:
            for replica in replicas:
                print(f"--- {replica.name} (pid {replica.pid}) ---\n{replica.log_tail(60)}")
            raise
        finally:
            await db.dispose()


async def run_drill(
    replicas: list[KlaxonProcess],
    http: httpx.AsyncClient,
    fake: FakeTwilio,
    clock: SharedClock,
    db: AsyncEngine,
) -> None:
    victim, survivors = replicas[0], replicas[1:]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    applied = await http.post(f"{victim.url}/api/v1/oncall-config", json=ONCALL, headers=admin)
    assert applied.status_code == 200, applied.text

    fake.set_delay(SLOW_TWILIO)
    deliveries = storm()
    answered: list[Delivery] = []
    gate = asyncio.Semaphore(24)  # webhooks in flight at once

    async def send(delivery: Delivery) -> None:
        async with gate:
            answered.append(await deliver(http, replicas, delivery, ADMIN_TOKEN))

    killer = asyncio.create_task(
        kill_while_sending(victim, fake, answered, after=len(deliveries) // 3)
    )
    await asyncio.gather(*(send(d) for d in deliveries))
    in_flight_at_kill = await killer
    fake.set_delay(0.0)
    assert not victim.running and all(r.running for r in survivors)
    # Mid-storm: webhooks meant for the dead replica went to the others.
    assert any(d.first == 0 and d.accepted_by != victim.name for d in answered)

    # The survivors finish everything due now. What the dead process had claimed
    # stays claimed by it until its lease expires.
    async def idle_but_for_the_dead() -> tuple[Stored, str] | None:
        stored = await read_stored(db)
        claimed = {n.id: n.lease_owner for n in stored.notifications if n.state == "sending"}
        if due_work(stored, drill_now(clock)) or not set(in_flight_at_kill) <= claimed.keys():
            return None
        owners = set(claimed.values())
        dead_owner = claimed[in_flight_at_kill[0]]
        return (stored, dead_owner) if owners == {dead_owner} else None

    before, dead_owner = await eventually(idle_but_for_the_dead, "the survivors to go idle")
    claimed_by_dead = {n.id for n in before.notifications if n.lease_owner == dead_owner}
    assert set(in_flight_at_kill) <= claimed_by_dead

    # Step 2 comes due and the dead process's leases expire.
    clock.advance(ADVANCE_SECONDS)

    async def all_paged() -> Stored | None:
        stored = await read_stored(db)
        step_2 = [s for s in stored.steps if (s.round, s.step_index) == (0, 1)]
        done = len(step_2) == GROUPS and all(s.status == "done" for s in step_2)
        settled = all(n.state == "sent" for n in stored.notifications)
        return stored if done and settled and not due_work(stored, drill_now(clock)) else None

    after = await eventually(all_paged, "every step 2 page to go out")

    check_every_webhook_landed(answered, after)
    check_one_incident_per_group(after)
    pages = check_every_page_went_out(after)
    duplicates = check_duplicates_only_from_the_dead(
        fake, after, victim, claimed_by_dead, in_flight_at_kill
    )
    for replica in survivors:
        assert await asyncio.to_thread(replica.stop) == CLEAN_EXIT, replica.log_tail()
    print(
        f"\nreplica drill: {len(deliveries)} webhooks "
        f"({sum(len(d.answers) - 1 for d in answered)} retried), "
        f"{len(after.incidents)} incidents, {len(after.steps)} steps, {pages} pages in "
        f"{len(fake.messages)} SMS; the dead replica had {len(claimed_by_dead)} pages claimed, "
        f"{len(in_flight_at_kill)} SMS in flight at the kill; pages sent twice: {duplicates}"
    )


def check_every_webhook_landed(answered: list[Delivery], stored: Stored) -> None:
    incident_of_group = {i.group_key: i.number for i in stored.incidents}
    alert_incident = {a.fingerprint: a.incident_number for a in stored.alerts}
    for delivery in answered:
        assert delivery.accepted_by is not None
        for fp in fingerprints_of(delivery.payload):
            assert alert_incident[fp] == incident_of_group[incident_key(delivery.group)], fp
    assert len(stored.alerts) == GROUPS * INSTANCES
    assert Counter(a.incident_number for a in stored.alerts) == {
        i.number: INSTANCES for i in stored.incidents
    }


def check_one_incident_per_group(stored: Stored) -> None:
    keys = Counter(i.group_key for i in stored.incidents)
    assert keys == {incident_key(g): 1 for g in range(GROUPS)}
    assert {i.status for i in stored.incidents} == {"triggered"}


def check_every_page_went_out(stored: Stored) -> int:
    """Every incident: step 1 texted the primary, step 2 the secondary, each
    once in the database and sent; the next round waits its delay."""
    for incident in stored.incidents:
        steps = stored.steps_of(incident.number)
        assert set(steps) == {(0, 0), (0, 1), (1, 0)}, steps
        assert steps[(0, 0)].status == steps[(0, 1)].status == "done"
        assert steps[(1, 0)].status == "pending"
        for position, phone in (((0, 0), PAT), ((0, 1), SAM)):
            [page] = stored.pages_of_step(steps[position].id)
            assert (page.to_number, page.channel, page.state) == (phone, "sms", "sent")
            assert page.twilio_sid is not None
    return len(stored.notifications)


def check_duplicates_only_from_the_dead(
    fake: FakeTwilio,
    stored: Stored,
    victim: KlaxonProcess,
    claimed_by_dead: set[int],
    in_flight_at_kill: list[int],
) -> int:
    """Accounts for every SMS the fake Twilio accepted. One that Klaxon recorded
    (its sid is on notifications) carries exactly those pages. One it did not
    record can only be the dead process's: sent by it, for pages it had claimed.
    Returns how many pages went out twice."""
    by_sid: dict[str, list[Any]] = {}
    for n in stored.notifications:
        by_sid.setdefault(n.twilio_sid, []).append(n)
    number_of: dict[int, int] = {n.id: n.incident_number for n in stored.notifications}
    dead_pages: dict[str, set[int]] = {
        phone: {number_of[i] for i in claimed_by_dead if _to(stored, i) == phone}
        for phone in (PAT, SAM)
    }
    duplicates = 0
    unrecorded: list[int] = []
    for message in fake.messages:
        body = str(message["body"])
        pages = by_sid.pop(message["sid"], None)
        if pages is not None:
            assert {p.to_number for p in pages} == {message["to"]}
            assert len(pages) == pages_in(body)
            assert incidents_named(body) <= {p.incident_number for p in pages}
            continue
        # Twilio took it, Klaxon never learnt so: the dead process's, for its claims.
        assert message["status_callback"].startswith(victim.url), message
        assert callback_notification(message) in claimed_by_dead, message
        assert incidents_named(body) <= dead_pages[message["to"]], message
        unrecorded.append(callback_notification(message))
        duplicates += pages_in(body)
    assert by_sid == {}, "notifications recorded with a sid Twilio never gave"
    assert duplicates <= len(claimed_by_dead)
    # The kill was timed inside the window: those sends were accepted and resent.
    assert sorted(unrecorded) == sorted(in_flight_at_kill)
    return duplicates


def _to(stored: Stored, notification_id: int) -> str:
    [row] = [n for n in stored.notifications if n.id == notification_id]
    return str(row.to_number)
