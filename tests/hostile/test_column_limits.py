"""Column limits never cost a whole post. On PostgreSQL a value longer than
its column made the whole notification a 422 naming no field, and every alert
in it was lost (Alertmanager drops 4xx answers as unrecoverable).

Each ingest route is posted every string field at its documented limit (taken
whole) and one past it (a 4xx naming that field, as PagerDuty does), or, where
the sender's format has no limit (Alertmanager), far past any column: the value
is stored whole (generatorURL) or cut to its column (with ``…``; identities
with a hash of the whole), and the other alerts of the notification are stored.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import auth
from app.clock import ManualClock

LONG = 5000
STARTS = "2026-11-01T09:00:00Z"


async def _token(client: httpx.AsyncClient, name: str = "senders") -> str:
    created = await client.post("/api/v1/tokens", json={"name": name, "scope": "ingest"})
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


def _am_alert(name: str, **fields: Any) -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": name}, "startsAt": STARTS}
    return {**alert, **fields}


def _am(*alerts: dict[str, Any], group_key: str = "{}:{}") -> dict[str, Any]:
    return {"status": "firing", "groupKey": group_key, "alerts": list(alerts)}


async def _alerts(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The stored alerts by their alertname label."""
    listed = await client.get("/api/v1/alerts", params={"limit": 500})
    assert listed.status_code == 200, listed.text
    return {a["labels"]["alertname"]: a for a in listed.json()["items"]}


async def test_alertmanager_values_past_every_column_lose_no_alert(
    client: httpx.AsyncClient,
) -> None:
    url = "https://prometheus.example.com/graph?g0.expr=" + "x" * LONG
    long_name = "N" * LONG
    shared = "s" * 300
    notification = _am(
        _am_alert(
            long_name,
            labels={"alertname": long_name, "service": shared + "1"},
            annotations={"summary": "S" * LONG},
            generatorURL=url,
            fingerprint="f" * 256,
        ),
        _am_alert("Unrelated", labels={"alertname": "Unrelated", "service": shared + "2"}),
        _am_alert("Short", labels={"alertname": "Short", "service": "checkout"}),
        group_key="g" * LONG,
    )
    accepted = await client.post("/api/v1/webhooks/alertmanager", json=notification)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["new"] == 3

    stored = await _alerts(client)
    assert sorted(stored) == sorted([long_name, "Unrelated", "Short"])
    long_one = stored[long_name]
    assert long_one["generator_url"] == url, "the generator URL is stored whole"
    assert len(long_one["name"]) == 500 and long_one["name"].endswith("…")
    assert len(long_one["fingerprint"]) == 255
    services = {long_one["service"], stored["Unrelated"]["service"]}
    assert len(services) == 2, "two long services that differ stay two"
    assert all(len(s) == 200 and s.startswith("s" * 150) for s in services)
    assert stored["Short"]["service"] == "checkout"
    [number] = {a["incident_number"] for a in stored.values()}
    incident = (await client.get(f"/api/v1/incidents/{number}")).json()
    assert len(incident["title"]) == 500 and incident["title"].endswith("…")

    again = await client.post("/api/v1/webhooks/alertmanager", json=notification)
    assert again.json()["repeats"] == 3, "a cut fingerprint is the same identity every time"


async def test_a_token_name_is_bounded_so_that_every_actor_made_of_it_fits(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    refused = await client.post("/api/v1/tokens", json={"name": "t" * 101, "scope": "ingest"})
    assert refused.status_code == 422, refused.text
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", "name"]]

    longest = "t" * 100
    key = await _token(client, longest)
    sender = {"Authorization": f"Bearer {key}"}
    fired = await client.post(
        "/api/v1/webhooks/alertmanager", json=_am(_am_alert("CheckoutDown")), headers=sender
    )
    assert fired.status_code == 200, fired.text
    checked = await client.post(
        "/api/v1/webhooks/healthcheck", json={"name": "web", "status": "down"}, headers=sender
    )
    assert checked.status_code == 200, checked.text
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    }
    assert (await client.post("/v2/enqueue", json=event)).status_code == 202
    declared = await client.put("/api/v1/heartbeats/nightly", json={"interval": 60, "grace": 0})
    assert declared.status_code in (200, 201), declared.text
    pinged = await client.post("/api/v1/heartbeats/nightly/ping", headers=sender)
    assert pinged.status_code == 200, pinged.text

    actors = set()
    for number in {a["incident_number"] for a in (await _alerts(client)).values()}:
        timeline = (await client.get(f"/api/v1/incidents/{number}")).json()["timeline"]
        actors |= {t["actor"] for t in timeline}
    assert {f"{via} ({longest})" for via in ("alertmanager", "healthcheck", "pagerduty")} <= actors


async def test_a_token_named_before_names_were_bounded_still_posts(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    async with app.state.runtime.sessions() as session, session.begin():
        key, _ = await auth.create_token(session, name="n" * 200, scope="ingest", now=clock.now())
    fired = await client.post(
        "/api/v1/webhooks/alertmanager",
        json=_am(_am_alert("CheckoutDown")),
        headers={"Authorization": f"Bearer {key}"},
    )
    assert fired.status_code == 200, fired.text
    [number] = fired.json()["incidents"]
    [opened] = (await client.get(f"/api/v1/incidents/{number}")).json()["timeline"][:1]
    assert opened["actor"] == "alertmanager (" + "n" * 185 + "…"  # 200 characters


def _field_at(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``body`` with the field at ``path`` set to ``value`` (copies on the way)."""
    if not path:
        return value
    head, *rest = path
    copy: Any = list(body) if isinstance(body, list) else dict(body)
    copy[head] = _field_at(
        copy.get(head) if isinstance(copy, dict) else copy[head], tuple(rest), value
    )
    return copy


HEALTHCHECK: dict[str, Any] = {"name": "web", "status": "down", "labels": {"service": "checkout"}}
HEALTHCHECK_LIMITS = [
    (("name",), 200),
    (("message",), 4000),
    (("url",), 2000),
    (("labels", "service"), 1000),
]


@pytest.mark.parametrize(("path", "limit"), HEALTHCHECK_LIMITS, ids=lambda v: str(v))
async def test_a_health_check_field_at_its_limit_is_taken_and_past_it_named(
    client: httpx.AsyncClient, path: tuple[str, ...], limit: int
) -> None:
    key = await _token(client)
    sender = {"Authorization": f"Bearer {key}"}
    at_limit = _field_at(HEALTHCHECK, path, "v" * limit)
    taken = await client.post("/api/v1/webhooks/healthcheck", json=at_limit, headers=sender)
    assert taken.status_code == 200, taken.text
    assert taken.json()["new"] == 1
    past = _field_at(HEALTHCHECK, path, "w" * (limit + 1))
    refused = await client.post("/api/v1/webhooks/healthcheck", json=past, headers=sender)
    assert refused.status_code == 422, refused.text
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", *path]]


async def test_a_health_check_label_name_at_its_limit_is_taken(
    client: httpx.AsyncClient,
) -> None:
    key = await _token(client)
    check = {**HEALTHCHECK, "labels": {"l" * 100: "x"}}
    taken = await client.post(
        "/api/v1/webhooks/healthcheck", json=check, headers={"Authorization": f"Bearer {key}"}
    )
    assert taken.status_code == 200, taken.text


PAGERDUTY = {
    "event_action": "trigger",
    "dedup_key": "disk-full",
    "client": "Monitoring",
    "client_url": "https://monitoring.example.com",
    "links": [{"href": "https://example.com/runbook", "text": "Runbook"}],
    "images": [{"src": "https://example.com/graph.png"}],
    "payload": {
        "summary": "Disk full",
        "source": "db-1",
        "severity": "critical",
        "component": "postgres",
        "group": "prod",
        "class": "disk",
    },
}
PAGERDUTY_LIMITS = [
    (("payload", "summary"), 1024),
    (("payload", "source"), 1024),
    (("payload", "component"), 1024),
    (("payload", "group"), 1024),
    (("payload", "class"), 1024),
    (("dedup_key",), 255),
    (("client",), 1024),
    (("client_url",), 2000),
    (("links", 0, "href"), 2000),
    (("images", 0, "src"), 2000),
]


@pytest.mark.parametrize(("path", "limit"), PAGERDUTY_LIMITS, ids=lambda v: str(v))
async def test_a_pagerduty_field_at_its_limit_is_taken_and_past_it_named(
    client: httpx.AsyncClient, path: tuple[Any, ...], limit: int
) -> None:
    event = {**PAGERDUTY, "routing_key": await _token(client)}
    taken = await client.post("/v2/enqueue", json=_field_at(event, path, "v" * limit))
    assert taken.status_code == 202, taken.text
    refused = await client.post("/v2/enqueue", json=_field_at(event, path, "w" * (limit + 1)))
    assert refused.status_code == 400, refused.text
    where = ".".join(str(p) for p in path)
    assert [e.split(" is invalid")[0] for e in refused.json()["errors"]] == [f"'{where}'"]


async def test_a_heartbeat_with_every_field_at_its_limit_expires_into_an_incident(
    client: httpx.AsyncClient, app: FastAPI, clock: ManualClock
) -> None:
    name = "h" * 200
    declared = await client.put(
        f"/api/v1/heartbeats/{name}",
        json={
            "interval": 60,
            "grace": 0,
            "description": "d" * 1000,
            "labels": {"team": "t" * 1000, "service": "checkout"},
        },
    )
    assert declared.status_code in (200, 201), declared.text
    clock.advance(seconds=61)
    await app.state.worker.run_due()
    [alert] = (await _alerts(client)).values()
    assert alert["labels"]["heartbeat"] == name
    assert alert["incident_number"] is not None
