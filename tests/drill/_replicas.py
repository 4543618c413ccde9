"""What the replica drills share: the on-call setup and rules, the replicas'
settings, alert storms, delivery with Alertmanager-style retries, and reading
the database the replicas write.

The on-call setup is one primary (pat) and one secondary (sam), each a
schedule of one person, and a policy that texts the primary at once and the
secondary ``STEP_DELAY_MINUTES`` later, then starts over after
``REPEAT_DELAY_MINUTES``. The rules route every ``DrillStorm`` alert to that
policy and group by ``alertname`` and ``cluster``: one incident per cluster.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import alerts_table, incidents_table, notifications_table, steps_table
from tests.fakes.twilio_server import FakeTwilio
from tests.helpers import WEBHOOK, am_alert, am_payload
from tests.paging import ACCOUNT_SID, AUTH_TOKEN, KLAXON_NUMBER
from tests.services.klaxon import KlaxonProcess, SharedClock
from tests.services.postgres import PrivatePostgres

T = TypeVar("T")

ADMIN_TOKEN = "drill-admin-token"
PAT, SAM = "+15557770001", "+15557770002"  # primary, secondary
POLICY = "drill-oncall"
STEP_DELAY_MINUTES = 5
REPEAT_DELAY_MINUTES = 60
#: Longer than the default 60 s so that no claim expires in real time before the
#: test moves the clock: the drill decides when leases run out.
SEND_LEASE_SECONDS = 240
#: Far enough to make step 2 due and every lease expire, short of the next round.
ADVANCE_SECONDS = STEP_DELAY_MINUTES * 60 + 60

ONCALL: dict[str, Any] = {
    "responders": [
        {"name": "pat", "phone": PAT},
        {"name": "sam", "phone": SAM},
    ],
    "schedules": [
        {
            "name": f"drill-{role}",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "always",
                    "participants": [who],
                    "shift": "1w",
                    "start": "2026-01-05T00:00:00",
                }
            ],
        }
        for role, who in (("primary", "pat"), ("secondary", "sam"))
    ],
    "policies": [
        {
            "name": POLICY,
            "repeat": 1,
            "steps": [
                {
                    "targets": {"schedules": ["drill-primary"]},
                    "channels": ["sms"],
                    "delay_minutes": STEP_DELAY_MINUTES,
                },
                {
                    "targets": {"schedules": ["drill-secondary"]},
                    "channels": ["sms"],
                    "delay_minutes": REPEAT_DELAY_MINUTES,
                },
            ],
        }
    ],
}

RULES = f"""\
routes:
  - name: drill
    matchers: ['alertname="DrillStorm"']
    service: drill
    policy: {POLICY}
    group_by: [alertname, cluster]
"""


def replica_env(
    database_url: str, fake: FakeTwilio, clock: SharedClock, tmp: Path
) -> dict[str, str]:
    """Settings of every replica, as a deployment would give them."""
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    return {
        "KLAXON_DATABASE_URL": database_url,
        "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN,
        "KLAXON_CONFIG": str(rules),
        "KLAXON_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "KLAXON_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "KLAXON_TWILIO_FROM": KLAXON_NUMBER,
        "KLAXON_TWILIO_API_URL": fake.api_url,
        "KLAXON_CLOCK_OFFSET_FILE": str(clock.path),
        "KLAXON_ENGINE_POLL_SECONDS": "0.2",
        "KLAXON_SEND_LEASE_SECONDS": str(SEND_LEASE_SECONDS),
        "KLAXON_DB_CONNECT_TIMEOUT": "2",
        "KLAXON_TOKEN_CACHE_SECONDS": "0",
        # The per-number throttle has tests of its own; here it would only
        # hold pages back for 15 minutes and blur what failover did.
        "KLAXON_THROTTLE_SMS": "1000",
    }


async def set_up_oncall(http: httpx.AsyncClient, replica: KlaxonProcess) -> str:
    """Apply ``ONCALL`` through ``replica``; returns a new ingest token."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    applied = await http.post(f"{replica.url}/api/v1/oncall-config", json=ONCALL, headers=admin)
    assert applied.status_code == 200, applied.text
    created = await http.post(
        f"{replica.url}/api/v1/tokens",
        json={"name": "alertmanager", "scope": "ingest"},
        headers=admin,
    )
    assert created.status_code in (200, 201), created.text
    return str(created.json()["token"])


# --- alerts ------------------------------------------------------------------


def cluster(group: int) -> str:
    return f"c{group:03d}"


def am_group_key(group: int) -> str:
    """The group key Alertmanager sends (grouping by alertname and cluster too)."""
    return f'{{}}:{{alertname="DrillStorm", cluster="{cluster(group)}"}}'


def incident_key(group: int) -> str:
    """The group key Klaxon derives from the drill route's group_by labels."""
    return f"route:drill:{{alertname='DrillStorm',cluster='{cluster(group)}'}}"


def fingerprint(group: int, instance: int) -> str:
    return f"drill{group:03d}{instance:02d}"


def storm_payload(group: int, instances: int, *, tag: str = "") -> dict[str, Any]:
    """Alertmanager's notification for one group with its first ``instances`` alerts
    (it resends the whole group each time one joins)."""
    alerts = [
        am_alert(
            fingerprint(group, i),
            alertname="DrillStorm",
            starts_at="2026-11-27T00:00:00Z",
            annotations={"summary": f"{tag}cluster {cluster(group)} is failing"},
            cluster=cluster(group),
            instance=f"node-{i}",
            severity="warning",
        )
        for i in range(instances)
    ]
    return am_payload(alerts, group_key=am_group_key(group))


def fingerprints_of(payload: dict[str, Any]) -> set[str]:
    return {str(a["fingerprint"]) for a in payload["alerts"]}


# --- delivering like Alertmanager -----------------------------------------------


@dataclass
class Delivery:
    payload: dict[str, Any]
    first: int  # index of the replica tried first
    answers: list[str] = field(default_factory=list)  # "klaxon-1: 503", ...
    accepted_by: str | None = None

    @property
    def group(self) -> int:
        return int(self.payload["alerts"][0]["labels"]["cluster"][1:])


async def deliver(
    http: httpx.AsyncClient,
    replicas: Sequence[KlaxonProcess],
    delivery: Delivery,
    token: str,
    *,
    attempts: int = 12,
) -> Delivery:
    """POST one webhook, moving to the next replica after a failure (a refused or
    cut connection, a 5xx) as Alertmanager behind a load balancer would; a 4xx
    is final for Alertmanager, so it fails the drill."""
    for attempt in range(attempts):
        replica = replicas[(delivery.first + attempt) % len(replicas)]
        try:
            response = await http.post(
                f"{replica.url}{WEBHOOK}",
                json=delivery.payload,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError as exc:
            delivery.answers.append(f"{replica.name}: {type(exc).__name__}")
        else:
            delivery.answers.append(f"{replica.name}: {response.status_code}")
            if response.is_success:
                delivery.accepted_by = replica.name
                return delivery
            assert response.status_code >= 500, (response.status_code, response.text)
        await asyncio.sleep(0.05 * (attempt + 1))  # Alertmanager's backoff, shortened
    raise AssertionError(f"webhook for group {delivery.group} never accepted: {delivery.answers}")


@dataclass
class Answer:
    delivery: Delivery
    status: int | None  # None: no HTTP answer at all
    retry_after: str | None


async def post_once(
    http: httpx.AsyncClient,
    replica: KlaxonProcess,
    delivery: Delivery,
    token: str,
    *,
    timeout: float = 20.0,
) -> Answer:
    try:
        response = await http.post(
            f"{replica.url}{WEBHOOK}",
            json=delivery.payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.TransportError:
        return Answer(delivery, None, None)
    return Answer(delivery, response.status_code, response.headers.get("retry-after"))


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    what: str,
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
) -> T:
    """Poll ``check`` until it returns something other than None or False."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


# --- what the replicas wrote ----------------------------------------------------------


@dataclass
class Stored:
    """The rows the drill checks, read in one go."""

    incidents: list[Any]
    alerts: list[Any]
    steps: list[Any]
    notifications: list[Any]

    def steps_of(self, number: int) -> dict[tuple[int, int], Any]:
        return {(s.round, s.step_index): s for s in self.steps if s.incident_number == number}

    def pages_of_step(self, step_id: int) -> list[Any]:
        return [n for n in self.notifications if n.step_id == step_id]


async def read_stored(engine: AsyncEngine) -> Stored:
    async with engine.connect() as conn:
        return Stored(
            incidents=list(await conn.execute(select(incidents_table))),
            alerts=list(await conn.execute(select(alerts_table))),
            steps=list(await conn.execute(select(steps_table))),
            notifications=list(
                await conn.execute(select(notifications_table).order_by(notifications_table.c.id))
            ),
        )


def drill_now(clock: SharedClock) -> datetime:
    """The replicas' time: the wall clock plus the shared offset."""
    return datetime.now(UTC) + timedelta(seconds=clock.offset)


def due_work(stored: Stored, now: datetime) -> list[str]:
    """Steps and notifications that are due but not done: what an idle set of
    replicas would have left undone."""
    left = [
        f"step {s.id} of #{s.incident_number}"
        for s in stored.steps
        if s.status == "pending" and s.due_at <= now
    ]
    left += [
        f"notification {n.id}"
        for n in stored.notifications
        if n.state == "pending" and n.due_at <= now
    ]
    return left


# --- what the fake Twilio received ----------------------------------------------------

_CALLBACK_ID = re.compile(r"/api/v1/twilio/status/(\d+)$")
_BUNDLE_COUNT = re.compile(r"^\[Klaxon\] (\d+) incidents?\b")
_INCIDENT = re.compile(r"#(\d+)\b")


def callback_notification(record: dict[str, Any]) -> int:
    """The notification a Twilio request was for (the first, for a bundle), from
    its status callback URL."""
    url = record.get("status_callback") or record["form"].get("StatusCallback", "")
    found = _CALLBACK_ID.search(url)
    assert found, url
    return int(found.group(1))


def pages_in(body: str) -> int:
    """How many pages one SMS carries: a bundle says how many incidents it holds."""
    found = _BUNDLE_COUNT.match(body)
    return int(found.group(1)) if found else 1


def incidents_named(body: str) -> set[int]:
    return {int(n) for n in _INCIDENT.findall(body)}


def print_logs(replicas: Sequence[KlaxonProcess], pg: PrivatePostgres) -> None:
    """The last lines each replica and the database wrote, for a failed drill."""
    for replica in replicas:
        print(f"--- {replica.name} ---\n{replica.log_tail(60)}")
    print(f"--- postgres ---\n{pg.log_tail()}")


# --- what the drills check ---------------------------------------------------------


def check_nothing_half_written(
    stored: Stored, landed: list[Delivery], also: Sequence[int] = ()
) -> None:
    """Every webhook answered 2xx is stored whole, as are the groups ``also``
    delivered otherwise (by Alertmanager), each incident with its alerts and its
    first step."""
    incident_of = {i.group_key: i.number for i in stored.incidents}
    assert len(incident_of) == len(stored.incidents), "one incident per group"
    alert_incident = {a.fingerprint: a.incident_number for a in stored.alerts}
    for delivery in landed:
        key = incident_key(delivery.group)
        for fp in fingerprints_of(delivery.payload):
            assert fp in alert_incident, f"answered 2xx, yet alert {fp} is not stored"
            assert alert_incident[fp] == incident_of[key], fp
    for group in also:
        assert incident_key(group) in incident_of
    assert all(a.incident_number is not None for a in stored.alerts)
    with_alerts = Counter(a.incident_number for a in stored.alerts)
    for incident in stored.incidents:
        assert with_alerts[incident.number] >= 1
        assert (0, 0) in stored.steps_of(incident.number)


def assert_no_page_sent_twice(fake: FakeTwilio, stored: Stored) -> None:
    """Every SMS Twilio accepted is one Klaxon recorded, carrying the pages that
    carry its sid; so each page went out once."""
    by_sid: dict[str | None, list[Any]] = {}
    for n in stored.notifications:
        by_sid.setdefault(n.twilio_sid, []).append(n)
    for message in fake.messages:
        pages = by_sid.pop(message["sid"], None)
        assert pages is not None, f"sent but never recorded: {message}"
        assert len(pages) == pages_in(str(message["body"]))
        assert callback_notification(message) == pages[0].id
    assert by_sid == {}, "pages recorded as sent that Twilio never took"
