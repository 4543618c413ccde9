"""The Alertmanager webhook: authentication, bad input, dedupe, grouping, lifecycle.

Each test runs on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from app.clock import ManualClock
from tests.conftest import load_fixture
from tests.helpers import (
    WEBHOOK,
    am_alert,
    am_payload,
    incident,
    incidents,
    post,
    state,
)


async def _alert_rows(client: httpx.AsyncClient) -> list[dict[str, object]]:
    resp = await client.get("/api/v1/alerts", params={"limit": 500})
    assert resp.status_code == 200
    items: list[dict[str, object]] = resp.json()["items"]
    return items


# --- authentication -------------------------------------------------------


async def test_webhook_without_token_is_401_and_writes_nothing(client: httpx.AsyncClient) -> None:
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    resp = await client.post(WEBHOOK, json=payload, headers={"Authorization": ""})
    assert resp.status_code == 401
    assert "bearer" in resp.json()["detail"].lower()
    assert resp.headers["www-authenticate"] == "Bearer"
    assert await incidents(client) == []


async def test_webhook_with_wrong_token_is_401_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    resp = await client.post(WEBHOOK, json=payload, headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
    assert await incidents(client) == []


async def test_ingest_token_can_post_but_cannot_read(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await client.post("/api/v1/tokens", json={"name": "am", "scope": "ingest"})
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    ingest = {"Authorization": f"Bearer {secret}"}
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    assert (await client.post(WEBHOOK, json=payload, headers=ingest)).status_code == 200
    denied = await client.get("/api/v1/incidents", headers=ingest)
    assert denied.status_code == 403
    assert "ingest" in denied.json()["detail"]
    assert len(await incidents(client)) == 1


async def test_read_token_cannot_acknowledge(client: httpx.AsyncClient) -> None:
    secret = (await client.post("/api/v1/tokens", json={"name": "ro", "scope": "read"})).json()[
        "token"
    ]
    await post(client, load_fixture("02-firing-DiskFull-critical-annotations.json"))
    read = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/incidents", headers=read)).status_code == 200
    assert (await client.post("/api/v1/incidents/1/acknowledge", headers=read)).status_code == 403
    assert (await client.post(WEBHOOK, json={}, headers=read)).status_code == 403


async def test_revoked_token_is_refused(client: httpx.AsyncClient) -> None:
    created = (await client.post("/api/v1/tokens", json={"name": "am", "scope": "ingest"})).json()
    revoke = await client.delete(f"/api/v1/tokens/{created['id']}")
    assert revoke.status_code == 204
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert (await client.post(WEBHOOK, json=payload, headers=headers)).status_code == 401


# --- bad input --------------------------------------------------------------


async def test_malformed_json_is_400_naming_the_problem(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        WEBHOOK, content=b'{"alerts": [', headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert "malformed JSON" in resp.json()["detail"]


async def test_schema_error_names_the_field_and_writes_none_of_the_post(
    client: httpx.AsyncClient,
) -> None:
    good = am_alert("aaaa000000000001")
    bad = am_alert("aaaa000000000002")
    bad["startsAt"] = "yesterday"
    resp = await post(client, am_payload([good, bad]))
    assert resp.status_code == 422
    locations = [tuple(err["loc"]) for err in resp.json()["detail"]]
    assert ("body", "alerts", 1, "startsAt") in locations
    assert await incidents(client) == []
    assert await _alert_rows(client) == []


async def test_missing_alerts_field_is_422(client: httpx.AsyncClient) -> None:
    payload = am_payload([am_alert("aaaa000000000001")])
    del payload["alerts"]
    resp = await post(client, payload)
    assert resp.status_code == 422
    assert ["body", "alerts"] in [err["loc"] for err in resp.json()["detail"]]


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    alerts = [am_alert(f"{i:016x}", annotations={"description": "x" * 2000}) for i in range(600)]
    resp = await post(client, am_payload(alerts))
    assert resp.status_code == 413
    assert "limit" in resp.json()["detail"]
    assert await incidents(client) == []


# --- dedupe and grouping -----------------------------------------------------


async def test_real_firing_group_opens_one_incident_with_both_alerts(
    client: httpx.AsyncClient,
) -> None:
    resp = await post(client, load_fixture("01-firing-group-HighLatency-2alerts.json"))
    assert resp.status_code == 200
    assert resp.json()["new"] == 2
    [only] = await incidents(client)
    assert only["number"] == 1
    assert only["status"] == "triggered"
    assert only["alert_count"] == 2
    assert only["service"] == "checkout"
    # warning → SEV3, critical → SEV2; the incident takes the highest.
    assert only["severity"] == "SEV2"
    # The worst alert names the incident.
    assert only["title"] == "p99 latency above 5s on web-2"
    detail = await incident(client, 1)
    assert {a["fingerprint"] for a in detail["alerts"]} == {"bfe47084c6f317f9", "061e5eeeaf7f98e9"}
    assert all(a["ends_at"] is None for a in detail["alerts"])
    assert [e["kind"] for e in detail["timeline"]] == [
        "triggered",
        "alert_fired",
        "escalation_started",
    ]


async def test_repeat_of_a_firing_alert_counts_and_creates_nothing(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    await post(client, payload)
    clock.advance(minutes=5)
    payload["alerts"][0]["annotations"]["description"] = "now 98% full"
    second = (await post(client, payload)).json()
    assert second["new"] == 0
    assert second["repeats"] == 1
    [only] = await incidents(client)
    detail = await incident(client, only["number"])
    [alert] = detail["alerts"]
    assert alert["occurrences"] == 2
    assert alert["last_seen_at"] != alert["first_seen_at"]
    assert alert["annotations"]["description"] == "now 98% full"
    assert only["alert_count"] == 1


async def test_same_payload_twice_leaves_the_same_state(client: httpx.AsyncClient) -> None:
    for name in [
        "01-firing-group-HighLatency-2alerts.json",
        "02-firing-DiskFull-critical-annotations.json",
        "03-firing-group-with-one-resolved.json",
    ]:
        await post(client, load_fixture(name))
    before = await state(client)
    for name in [
        "01-firing-group-HighLatency-2alerts.json",
        "02-firing-DiskFull-critical-annotations.json",
        "03-firing-group-with-one-resolved.json",
    ]:
        resp = await post(client, load_fixture(name))
        assert resp.json()["new"] == 0
    assert await state(client) == before


async def test_firing_group_with_a_resolved_alert_acts_per_alert(
    client: httpx.AsyncClient,
) -> None:
    await post(client, load_fixture("01-firing-group-HighLatency-2alerts.json"))
    resp = await post(client, load_fixture("03-firing-group-with-one-resolved.json"))
    assert resp.json()["resolved"] == 1
    [only] = await incidents(client)
    assert only["status"] == "triggered"
    assert only["firing_count"] == 1
    detail = await incident(client, only["number"])
    by_fp = {a["fingerprint"]: a for a in detail["alerts"]}
    assert by_fp["bfe47084c6f317f9"]["status"] == "resolved"
    assert by_fp["bfe47084c6f317f9"]["ends_at"].startswith("2026-11-26T19:17:05")
    assert by_fp["061e5eeeaf7f98e9"]["status"] == "firing"


async def test_incident_resolves_itself_when_its_last_alert_resolves(
    client: httpx.AsyncClient,
) -> None:
    await post(client, load_fixture("01-firing-group-HighLatency-2alerts.json"))
    await post(client, load_fixture("03-firing-group-with-one-resolved.json"))
    assert (await incidents(client))[0]["status"] == "triggered"
    await post(client, load_fixture("04-resolved-group-HighLatency.json"))
    [only] = await incidents(client)
    assert only["status"] == "resolved"
    assert only["resolved_by"].startswith("alertmanager")
    detail = await incident(client, only["number"])
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds[-2:] == ["alert_resolved", "resolved"]
    # Resolved alerts arrive with empty annotations: the stored ones stay.
    assert all(a["annotations"].get("summary") for a in detail["alerts"])


async def test_alert_firing_again_after_resolution_opens_a_new_incident(
    client: httpx.AsyncClient,
) -> None:
    await post(client, load_fixture("02-firing-DiskFull-critical-annotations.json"))
    await post(client, load_fixture("05-resolved-DiskFull.json"))
    again = load_fixture("02-firing-DiskFull-critical-annotations.json")
    again["alerts"][0]["startsAt"] = "2026-11-26T20:00:00Z"
    resp = await post(client, again)
    assert resp.json()["new"] == 1
    listed = await incidents(client)
    assert [(i["number"], i["status"]) for i in listed] == [(2, "triggered"), (1, "resolved")]


async def test_late_firing_retry_never_undoes_a_resolution(client: httpx.AsyncClient) -> None:
    firing = load_fixture("02-firing-DiskFull-critical-annotations.json")
    await post(client, firing)
    await post(client, load_fixture("05-resolved-DiskFull.json"))
    late = (await post(client, firing)).json()
    assert late["stale"] == 1
    [only] = await incidents(client)
    assert only["status"] == "resolved"
    [alert] = (await incident(client, only["number"]))["alerts"]
    assert alert["status"] == "resolved"


async def test_older_episode_arriving_after_a_newer_one_resolved_is_ignored(
    client: httpx.AsyncClient,
) -> None:
    """(While the newer one fires, an older start is the same episode:
    Alertmanager's merge keeps the earliest start; see test_episodes.py.)"""
    newer = am_alert("cccc000000000001", starts_at="2026-11-26T11:50:00Z")
    done = am_alert(
        "cccc000000000001",
        status="resolved",
        starts_at="2026-11-26T11:50:00Z",
        ends_at="2026-11-26T11:55:00Z",
    )
    older = am_alert("cccc000000000001", starts_at="2026-11-26T10:00:00Z")
    await post(client, am_payload([newer]))
    await post(client, am_payload([done]))
    resp = (await post(client, am_payload([older]))).json()
    assert resp["stale"] == 1
    assert len(await _alert_rows(client)) == 1


async def test_new_episode_closes_an_older_one_we_never_saw_resolve(
    client: httpx.AsyncClient,
) -> None:
    first = am_alert("dddd000000000001", starts_at="2026-11-26T10:00:00Z")
    second = am_alert("dddd000000000001", starts_at="2026-11-26T12:00:00Z")
    await post(client, am_payload([first]))
    await post(client, am_payload([second]))
    alerts = await _alert_rows(client)
    assert sorted(str(a["status"]) for a in alerts) == ["firing", "resolved"]
    # Same group, so the same incident, and it is still open.
    [only] = await incidents(client)
    assert only["status"] == "triggered"
    assert only["firing_count"] == 1


async def test_alert_storm_of_1000_in_one_group_is_one_incident(
    client: httpx.AsyncClient,
) -> None:
    alerts = [
        am_alert(f"{i:016x}", alertname="Storm", instance=f"web-{i}", annotations={})
        for i in range(1000)
    ]
    for start in range(0, 1000, 250):
        resp = await post(client, am_payload(alerts[start : start + 250]))
        assert resp.status_code == 200, resp.text
    [only] = await incidents(client)
    assert only["alert_count"] == 1000
    assert only["firing_count"] == 1000
    detail = await incident(client, only["number"])
    fired = [e for e in detail["timeline"] if e["kind"] == "alert_fired"]
    assert len(fired) == 4
    assert fired[0]["message"].startswith("250 alerts fired")


async def test_route_group_by_splits_and_joins_incidents(client: httpx.AsyncClient) -> None:
    # The storage route groups DiskFull by alertname and instance.
    a = am_alert("eeee000000000001", alertname="DiskFull", instance="db-1", mount="/")
    b = am_alert("eeee000000000002", alertname="DiskFull", instance="db-1", mount="/var")
    c = am_alert("eeee000000000003", alertname="DiskFull", instance="db-2", mount="/")
    await post(client, am_payload([a, b, c]))
    listed = await incidents(client)
    assert sorted(i["alert_count"] for i in listed) == [1, 2]
    assert {i["service"] for i in listed} == {"storage"}
    assert {i["policy"] for i in listed} == {"storage-oncall"}


async def test_without_group_by_alertmanagers_group_key_decides(
    client: httpx.AsyncClient,
) -> None:
    await post(client, am_payload([am_alert("f000000000000001")], group_key="{}:{a=1}"))
    await post(client, am_payload([am_alert("f000000000000002")], group_key="{}:{a=1}"))
    await post(client, am_payload([am_alert("f000000000000003")], group_key="{}:{a=2}"))
    assert sorted(i["alert_count"] for i in await incidents(client)) == [1, 2]


async def test_severity_rises_to_the_highest_alert_and_is_on_the_timeline(
    client: httpx.AsyncClient,
) -> None:
    warn = am_alert("abab000000000001", severity="warning")
    crit = am_alert("abab000000000002", severity="critical")
    await post(client, am_payload([warn]))
    assert (await incidents(client))[0]["severity"] == "SEV3"
    await post(client, am_payload([crit]))
    [only] = await incidents(client)
    assert only["severity"] == "SEV2"
    changes = [
        e for e in (await incident(client, 1))["timeline"] if e["kind"] == "severity_changed"
    ]
    assert [(e["data"]["from"], e["data"]["to"]) for e in changes] == [("SEV3", "SEV2")]


async def test_sev1_only_through_a_rule(client: httpx.AsyncClient) -> None:
    db_down = am_alert("acac000000000001", alertname="DatabaseDown", env="prod", severity="info")
    await post(client, am_payload([db_down], group_key="{}:{db}"))
    await post(client, am_payload([am_alert("acac000000000002", severity="critical")]))
    severities = {i["title"]: i["severity"] for i in await incidents(client)}
    assert severities == {"DatabaseDown": "SEV1", "HighErrorRate": "SEV2"}


async def test_alert_without_fingerprint_is_identified_by_its_labels(
    client: httpx.AsyncClient,
) -> None:
    alert = am_alert("unused", instance="web-1")
    del alert["fingerprint"]
    await post(client, am_payload([alert]))
    reordered = dict(alert, labels=dict(reversed(list(alert["labels"].items()))))
    resp = (await post(client, am_payload([reordered]))).json()
    assert resp["repeats"] == 1
    assert len(await _alert_rows(client)) == 1


async def test_resolved_alert_never_seen_firing_is_kept_without_an_incident(
    client: httpx.AsyncClient,
) -> None:
    payload = load_fixture("05-resolved-DiskFull.json")
    resp = await post(client, payload)
    assert resp.status_code == 200
    assert await incidents(client) == []
    [alert] = await _alert_rows(client)
    assert alert["status"] == "resolved"
    assert alert["incident_number"] is None


# --- people acting -----------------------------------------------------------


async def test_acknowledge_and_resolve_record_who(client: httpx.AsyncClient) -> None:
    await post(client, load_fixture("02-firing-DiskFull-critical-annotations.json"))
    ack = await client.post("/api/v1/incidents/1/acknowledge", json={"by": "alice"})
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == "alice"
    again = await client.post("/api/v1/incidents/1/acknowledge", json={"by": "bob"})
    assert again.json()["acknowledged_by"] == "alice"
    done = await client.post("/api/v1/incidents/1/resolve")
    assert done.json()["status"] == "resolved"
    assert done.json()["resolved_by"] == "admin"
    timeline = (await incident(client, 1))["timeline"]
    assert [(e["kind"], e["actor"]) for e in timeline[-2:]] == [
        ("acknowledged", "alice"),
        ("resolved", "admin"),
    ]
    late = await client.post("/api/v1/incidents/1/acknowledge")
    assert late.status_code == 409
    assert late.json()["detail"] == "#1 is already resolved"


async def test_acknowledge_unknown_incident_is_404(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/incidents/99/acknowledge")
    assert resp.status_code == 404
    assert resp.json()["detail"] == "No incident #99"


async def test_alert_joins_an_acknowledged_incident(client: httpx.AsyncClient) -> None:
    await post(client, am_payload([am_alert("bcbc000000000001")]))
    await client.post("/api/v1/incidents/1/acknowledge")
    await post(client, am_payload([am_alert("bcbc000000000002")]))
    [only] = await incidents(client)
    assert only["status"] == "acknowledged"
    assert only["alert_count"] == 2


async def test_firing_repeats_do_not_reopen_a_manually_resolved_incident(
    client: httpx.AsyncClient,
) -> None:
    payload = am_payload([am_alert("bdbd000000000001")])
    await post(client, payload)
    await client.post("/api/v1/incidents/1/resolve")
    await post(client, payload)
    [only] = await incidents(client)
    assert only["status"] == "resolved"


# --- listing ----------------------------------------------------------------


async def test_incident_filters_and_cursor_pagination(client: httpx.AsyncClient) -> None:
    for i in range(7):
        sev = "critical" if i % 2 else "warning"
        await post(
            client,
            am_payload([am_alert(f"{i:016x}", severity=sev, team=f"t{i % 3}")], group_key=f"g{i}"),
        )
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/incidents", params=params)).json()
        seen += [i["number"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    sev2 = await incidents(client, severity="SEV2")
    assert [i["number"] for i in sev2] == [6, 4, 2]
    t0 = await incidents(client, label="team=t0")
    assert [i["number"] for i in t0] == [7, 4, 1]
    both = await incidents(client, label=["team=t0", "severity=critical"])
    assert [i["number"] for i in both] == [4]
    assert await incidents(client, status="resolved") == []
    assert len(await incidents(client, status="triggered")) == 7


async def test_bad_filters_are_clear_errors(client: httpx.AsyncClient) -> None:
    bad_label = await client.get("/api/v1/incidents", params={"label": "team"})
    assert bad_label.status_code == 400
    assert "name=value" in bad_label.json()["detail"]
    bad_sev = await client.get("/api/v1/incidents", params={"severity": "SEV9"})
    assert bad_sev.status_code == 422
    assert bad_sev.json()["detail"][0]["loc"] == ["query", "severity"]
    bad_cursor = await client.get("/api/v1/incidents", params={"cursor": "abc"})
    assert bad_cursor.status_code == 400


async def test_alerts_listing_filters_by_status(client: httpx.AsyncClient) -> None:
    await post(client, load_fixture("01-firing-group-HighLatency-2alerts.json"))
    await post(client, load_fixture("03-firing-group-with-one-resolved.json"))
    firing = (await client.get("/api/v1/alerts", params={"status": "firing"})).json()["items"]
    assert [a["fingerprint"] for a in firing] == ["061e5eeeaf7f98e9"]
    by_label = (await client.get("/api/v1/alerts", params={"label": "instance=web-1:9100"})).json()
    assert [a["status"] for a in by_label["items"]] == ["resolved"]
