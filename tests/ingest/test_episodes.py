"""Episodes through Alertmanager's merges, and times from the future.

Alertmanager keeps the earliest ``startsAt`` of what its senders told it (an
HA Prometheus pair, a Prometheus restart): the start of a firing episode can
move earlier between two notifications. Each test runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.clock import ManualClock
from tests.helpers import am_alert, am_payload, incident, incidents, post

T = "2026-11-26T11:00:00Z"
T_HALF = "2026-11-26T11:00:00.500Z"  # the other Prometheus of the pair, half a second later
ENDED = "2026-11-26T11:30:00Z"


def _alert(**kwargs: Any) -> dict[str, Any]:
    return am_alert("fp-merge", alertname="PostgresDown", service="db", **kwargs)


async def _posted(client: httpx.AsyncClient, *alerts: dict[str, Any]) -> dict[str, Any]:
    resp = await post(client, am_payload(list(alerts)))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_a_resolution_carrying_the_merged_earlier_start_resolves_the_incident(
    client: httpx.AsyncClient,
) -> None:
    fired = await _posted(client, _alert(starts_at=T_HALF))
    [number] = fired["incidents"]
    resolved = await _posted(client, _alert(status="resolved", starts_at=T, ends_at=ENDED))
    assert (resolved["resolved"], resolved["stale"]) == (1, 0)
    detail = await incident(client, number)
    assert detail["status"] == "resolved"
    assert [a["status"] for a in detail["alerts"]] == ["resolved"]
    assert detail["alerts"][0]["ends_at"].startswith("2026-11-26T11:30:00")
    kinds = [event["kind"] for event in detail["timeline"]]
    assert kinds[-2:] == ["alert_resolved", "resolved"]


async def test_a_firing_repeat_with_an_earlier_start_is_the_same_episode(
    client: httpx.AsyncClient,
) -> None:
    [number] = (await _posted(client, _alert(starts_at=T_HALF)))["incidents"]
    merged = await _posted(client, _alert(starts_at=T))
    assert (merged["new"], merged["repeats"], merged["stale"]) == (0, 1, 0)
    # The other Alertmanager of the pair, not merged yet, still says T + 0.5 s.
    unmerged = await _posted(client, _alert(starts_at=T_HALF))
    assert (unmerged["new"], unmerged["repeats"], unmerged["stale"]) == (0, 1, 0)
    again = await _posted(client, _alert(starts_at=T))
    assert (again["new"], again["repeats"]) == (0, 1)
    [only] = await incidents(client)
    assert (only["number"], only["alert_count"], only["firing_count"]) == (number, 1, 1)
    detail = await incident(client, number)
    [alert] = detail["alerts"]
    assert alert["occurrences"] == 4
    assert "alert_resolved" not in [e["kind"] for e in detail["timeline"]]
    done = await _posted(client, _alert(status="resolved", starts_at=T, ends_at=ENDED))
    assert done["resolved"] == 1
    assert (await incident(client, number))["status"] == "resolved"


async def test_a_late_copy_of_an_older_resolution_never_resolves_the_new_episode(
    client: httpx.AsyncClient,
) -> None:
    old_end = "2026-11-26T11:05:00Z"
    await _posted(client, _alert(starts_at=T))
    await _posted(client, _alert(status="resolved", starts_at=T, ends_at=old_end))
    [number] = (await _posted(client, _alert(starts_at="2026-11-26T11:10:00Z")))["incidents"]
    late = await _posted(client, _alert(status="resolved", starts_at=T, ends_at=old_end))
    assert (late["resolved"], late["stale"]) == (0, 1)
    assert (await incident(client, number))["status"] == "triggered"
    # Nor does a firing copy from inside the resolved episode come back.
    inside = await _posted(client, _alert(starts_at="2026-11-26T11:02:00Z"))
    assert (inside["new"], inside["stale"]) == (0, 1)


async def test_a_stored_start_from_the_future_never_makes_the_present_stale(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    # 23 hours ahead: inside the accepted window (a badly set clock).
    ahead = "2026-11-27T11:00:00Z"
    first = await _posted(
        client, _alert(status="resolved", starts_at=ahead, ends_at="2026-11-27T11:05:00Z")
    )
    assert first["incidents"] == []
    present = await _posted(client, _alert(starts_at="2026-11-26T11:59:00Z"))
    assert (present["new"], present["stale"]) == (1, 0)
    [opened] = await incidents(client)
    assert opened["status"] == "triggered"
    done = await _posted(
        client,
        _alert(status="resolved", starts_at="2026-11-26T11:59:00Z", ends_at="2026-11-26T12:00:00Z"),
    )
    assert done["resolved"] == 1
    clock.advance(minutes=30)
    again = await _posted(client, _alert(starts_at="2026-11-26T12:20:00Z"))
    assert (again["new"], again["stale"]) == (1, 0)


def _refused_field(resp: httpx.Response) -> list[Any]:
    assert resp.status_code == 422, resp.text
    return [error["loc"] for error in resp.json()["detail"]]


async def test_a_start_far_in_the_future_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    resp = await post(
        client,
        am_payload(
            [
                _alert(starts_at=T),
                _alert(status="resolved", starts_at="2099-01-01T00:00:00Z", ends_at=ENDED),
            ]
        ),
    )
    assert _refused_field(resp) == [["body", "alerts", 1, "startsAt"]]
    assert "hours after now" in resp.json()["detail"][0]["msg"]
    assert await incidents(client) == []
    # The genuine firing that follows is not stale.
    fired = await _posted(client, _alert(starts_at=T))
    assert (fired["new"], fired["stale"]) == (1, 0)


async def test_times_at_the_edges_of_the_datetime_range_are_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    cases = [
        ({"starts_at": "9999-12-31T23:59:59Z"}, "startsAt"),
        ({"starts_at": "0001-01-01T00:00:00+14:00"}, "startsAt"),
        ({"starts_at": "1999-12-31T23:59:59Z"}, "startsAt"),
        ({"status": "resolved", "ends_at": "9999-12-31T23:59:59Z"}, "endsAt"),
        ({"ends_at": "0001-01-01T00:00:00+14:00"}, "endsAt"),
        ({"status": "resolved", "ends_at": "1970-01-01T00:00:00Z"}, "endsAt"),
    ]
    for fields, name in cases:
        resp = await post(client, am_payload([_alert(**fields)]))
        assert _refused_field(resp) == [["body", "alerts", 0, name]], fields
    assert await incidents(client) == []
    # Go's zero time is Alertmanager's "no end" on a firing alert.
    fired = await _posted(client, _alert(starts_at=T, ends_at="0001-01-01T00:00:00Z"))
    assert fired["new"] == 1
