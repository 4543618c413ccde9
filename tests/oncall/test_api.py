"""The on-call API on both databases: responders, schedules, overrides, who is on
call, shifts and their 7-day warnings, escalation policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.clock import ManualClock

API = "/api/v1"
ANN = "+15551230001"
BEN = "+15551230002"
CAT = "+15551230003"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def put(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int | None = None
) -> dict[str, Any]:
    resp = await client.put(API + path, json=body)
    if status is None:
        assert resp.status_code in (200, 201), resp.text
    else:
        assert resp.status_code == status, resp.text
    data: dict[str, Any] = resp.json()
    return data


async def get(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    resp = await client.get(API + path, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def people(client: httpx.AsyncClient) -> None:
    for name, phone in (("ann", ANN), ("ben", BEN), ("cat", CAT)):
        await put(client, f"/responders/{name}", {"phone": phone})


def weekly(
    participants: list[str], *, shift: str = "1w", start: str = "2026-11-02T09:00:00"
) -> dict[str, Any]:
    """A rotation handing over Mondays (2026-11-02 is one) at 09:00 New York time."""
    return {
        "time_zone": "America/New_York",
        "layers": [
            {
                "name": "weekly",
                "participants": participants,
                "shift": shift,
                "start": start,
                "handoff": "09:00",
            }
        ],
        "services": ["payments"],
    }


async def oncall(client: httpx.AsyncClient, schedule: str, **params: str) -> dict[str, Any]:
    data: dict[str, Any] = await get(client, f"/schedules/{schedule}/oncall", **params)
    return data


# --- responders ---------------------------------------------------------------------


async def test_responder_round_trip(client: httpx.AsyncClient, clock: ManualClock) -> None:
    created = await client.put(
        f"{API}/responders/ann", json={"phone": "+1 (555) 123-0001", "time_zone": "Europe/Berlin"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "ann"
    assert body["phone"] == ANN  # normalized to E.164
    assert body["time_zone"] == "Europe/Berlin"
    assert parse(body["created_at"]) == clock.now()

    assert await get(client, "/responders/ann") == body
    assert await get(client, "/responders") == [body]

    # The same again changes nothing, not even updated_at.
    clock.advance(hours=1)
    again = await put(
        client, "/responders/ann", {"name": "ann", "phone": ANN, "time_zone": "Europe/Berlin"}, 200
    )
    assert again == body

    changed = await put(client, "/responders/ann", {"phone": ANN}, 200)
    assert changed["time_zone"] == "UTC"
    assert parse(changed["updated_at"]) == clock.now()
    assert parse(changed["created_at"]) == parse(body["created_at"])


@pytest.mark.parametrize("phone", ["555-1234", "5551230001", "+1555", "+999123", "call me"])
async def test_a_phone_that_is_not_e164_is_a_422_naming_the_field(
    client: httpx.AsyncClient, phone: str
) -> None:
    resp = await client.put(f"{API}/responders/ann", json={"phone": phone})
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"][-1] == "phone"
    assert repr(phone) in error["msg"]
    assert (await get(client, "/responders")) == []


async def test_an_unknown_time_zone_is_a_422(client: httpx.AsyncClient) -> None:
    resp = await client.put(
        f"{API}/responders/ann", json={"phone": ANN, "time_zone": "Mars/Olympus_Mons"}
    )
    assert resp.status_code == 422, resp.text
    [error] = resp.json()["detail"]
    assert error["loc"][-1] == "time_zone"
    assert "Mars/Olympus_Mons" in error["msg"]

    await people(client)
    body = weekly(["ann"]) | {"time_zone": "Europe/Atlantis"}
    resp = await client.put(f"{API}/schedules/s", json=body)
    assert resp.status_code == 422, resp.text
    assert [e["loc"][-1] for e in resp.json()["detail"]] == ["time_zone"]


async def test_responder_names_and_phones(client: httpx.AsyncClient) -> None:
    resp = await client.put(f"{API}/responders/ann", json={"name": "ben", "phone": ANN})
    assert resp.status_code == 400
    assert "'ben'" in resp.json()["detail"] and "'ann'" in resp.json()["detail"]

    resp = await client.put(f"{API}/responders/ann%20smith", json={"phone": ANN})
    assert resp.status_code == 422

    resp = await client.put(f"{API}/responders/ann", json={"phone": ANN, "pager": "x"})
    assert resp.status_code == 422  # extra fields are refused

    await put(client, "/responders/ann", {"phone": ANN}, 201)
    resp = await client.put(f"{API}/responders/ben", json={"phone": "+1 555 123 0001"})
    assert resp.status_code == 409
    assert resp.json()["detail"] == f"phone {ANN} already belongs to responder 'ann'"

    resp = await client.get(f"{API}/responders/nobody")
    assert resp.status_code == 404


async def test_a_read_token_reads_but_cannot_write(client: httpx.AsyncClient) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    created = await client.post(f"{API}/tokens", json={"name": "dash", "scope": "read"})
    assert created.status_code == 201, created.text
    reader = {"Authorization": f"Bearer {created.json()['token']}"}

    for path in ("/responders", "/responders/ann", "/schedules", "/schedules/pay", "/oncall"):
        resp = await client.get(API + path, headers=reader)
        assert resp.status_code == 200, (path, resp.text)
    resp = await client.put(f"{API}/responders/dan", json={"phone": CAT}, headers=reader)
    assert resp.status_code == 403
    resp = await client.post(f"{API}/oncall-config", json={}, headers=reader)
    assert resp.status_code == 403
    resp = await client.get(f"{API}/oncall", headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401


# --- schedules ----------------------------------------------------------------------


async def test_schedule_round_trip(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await people(client)
    body: dict[str, Any] = {
        "time_zone": "Europe/Berlin",
        "services": ["payments", "checkout"],
        "layers": [
            {
                "name": "base",
                "participants": ["ann", "ben"],
                "shift": "12h",
                "start": "2026-11-02T08:00:00",
                "handoff": "08:00",
            },
            {
                "name": "weekdays",
                "participants": ["cat"],
                "shift": "1d",
                "start": "2026-11-02T09:00:00+01:00",
                "restrictions": [
                    {"days": ["mon", 2, "Wednesday", 4, "fri"], "start": "09:00", "end": "17:00"}
                ],
            },
        ],
    }
    created = await put(client, "/schedules/pay", body, 201)
    assert created["name"] == "pay"
    assert created["time_zone"] == "Europe/Berlin"
    assert created["services"] == ["payments", "checkout"]
    assert created["overrides"] == []
    assert created["warnings"] == []
    base, weekdays = created["layers"]
    assert base == body["layers"][0] | {"restrictions": []}
    assert weekdays["restrictions"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ]
    assert parse(weekdays["start"]) == datetime.fromisoformat("2026-11-02T09:00:00+01:00")
    assert weekdays["handoff"] is None

    assert await get(client, "/schedules/pay") == created
    [listed] = await get(client, "/schedules")
    assert listed == {k: v for k, v in created.items() if k not in ("overrides", "warnings")}

    clock.advance(minutes=5)
    assert await put(client, "/schedules/pay", body | {"name": "pay"}, 200) == created

    body["services"] = ["payments"]
    updated = await put(client, "/schedules/pay", body, 200)
    assert updated["services"] == ["payments"]
    assert parse(updated["updated_at"]) == clock.now()


async def test_schedule_validation(client: httpx.AsyncClient) -> None:
    await people(client)
    resp = await client.put(f"{API}/schedules/pay", json=weekly(["ann", "zed", "yan"]))
    assert resp.status_code == 400
    assert resp.json()["detail"] == "schedule 'pay': unknown responder 'yan', 'zed'"

    cases: list[tuple[dict[str, Any], str]] = [
        ({"shift": "fortnight"}, "shift"),
        ({"shift": "0h"}, "shift"),
        ({"handoff": "25:00"}, "handoff"),
        ({"participants": []}, "participants"),
        ({"start": "tomorrow"}, "start"),
        ({"restrictions": [{"days": ["mon", "xyz"], "start": "09:00", "end": "17:00"}]}, "days"),
        ({"restrictions": [{"days": [8], "start": "09:00", "end": "17:00"}]}, "days"),
        ({"restrictions": [{"days": [], "start": "09:00", "end": "17:00"}]}, "days"),
    ]
    for change, field in cases:
        body = weekly(["ann"])
        body["layers"][0].update(change)
        resp = await client.put(f"{API}/schedules/pay", json=body)
        assert resp.status_code == 422, (change, resp.text)
        assert resp.json()["detail"][0]["loc"][-1] == field, (change, resp.text)

    body = weekly(["ann"])
    body["layers"].append(dict(body["layers"][0]))
    resp = await client.put(f"{API}/schedules/pay", json=body)
    assert resp.status_code == 422
    assert "layer 'weekly' is listed twice" in resp.text

    resp = await client.put(f"{API}/schedules/pay", json=weekly(["ann"]) | {"layers": []})
    assert resp.status_code == 422
    resp = await client.put(f"{API}/schedules/pay", json=weekly(["ann"]) | {"name": "other"})
    assert resp.status_code == 400
    assert (await get(client, "/schedules")) == []
    for path in ("/schedules/none", "/schedules/none/oncall", "/schedules/none/shifts"):
        resp = await client.get(API + path)
        assert resp.status_code == 404, path
        assert resp.json() == {"detail": "no schedule 'none'"}


async def test_who_is_on_call_now_and_at(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    # Weeks from Monday 2026-11-02 09:00 EST: ann, ben, ann, ben (from 11-23) ...
    assert clock.now() == utc(2026, 11, 26, 12)
    now = await oncall(client, "pay")
    assert now == {
        "schedule": "pay",
        "at": "2026-11-26T12:00:00Z",
        "responder": {"name": "ben", "phone": BEN, "time_zone": "UTC"},
        "until": "2026-11-30T14:00:00Z",
        "source": "weekly",
    }
    at = await oncall(client, "pay", at="2026-11-30T14:00:00+00:00")
    assert at["responder"]["name"] == "ann"
    assert parse(at["until"]) == utc(2026, 12, 7, 14)
    at = await oncall(client, "pay", at="2026-11-30T08:59:59-05:00")
    assert at["responder"]["name"] == "ben"

    # Before the rotation's first handoff nobody is on call.
    early = await oncall(client, "pay", at="2026-11-01T00:00:00Z")
    assert early["responder"] is None
    assert early["source"] is None
    assert parse(early["until"]) == utc(2026, 11, 2, 14)

    # The clock decides "now".
    clock.set(utc(2026, 12, 1))
    assert (await oncall(client, "pay"))["responder"]["name"] == "ann"

    resp = await client.get(f"{API}/schedules/pay/oncall", params={"at": "2026-11-30T14:00:00"})
    assert resp.status_code == 422  # naive: which 14:00?
    resp = await client.get(f"{API}/schedules/pay/oncall", params={"at": "soon"})
    assert resp.status_code == 422


async def test_oncall_on_every_schedule(client: httpx.AsyncClient) -> None:
    assert await get(client, "/oncall") == []
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    await put(client, "/schedules/late", weekly(["cat"], start="2027-01-04T09:00:00"), 201)
    everyone = await get(client, "/oncall")
    assert [(o["schedule"], o["responder"]) for o in everyone] == [
        ("late", None),
        ("pay", {"name": "ben", "phone": BEN, "time_zone": "UTC"}),
    ]
    assert everyone[1] == await oncall(client, "pay")
    at = await get(client, "/oncall", at="2026-11-30T15:00:00Z")
    assert [o["responder"]["name"] if o["responder"] else None for o in at] == [None, "ann"]


async def test_overrides_change_the_answer(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    assert (await oncall(client, "pay"))["responder"]["name"] == "ben"

    resp = await client.post(
        f"{API}/schedules/pay/overrides",
        json={
            "start": "2026-11-26T10:00:00Z",
            "end": "2026-11-27T05:00:00-05:00",
            "responder": "cat",
        },
    )
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["responder"] == "cat"
    assert parse(created["end"]) == utc(2026, 11, 27, 10)
    first = created["id"]

    now = await oncall(client, "pay")
    assert now["responder"]["name"] == "cat"
    assert now["source"] == "override"
    assert parse(now["until"]) == utc(2026, 11, 27, 10)
    after = await oncall(client, "pay", at="2026-11-27T10:00:00Z")
    assert after["responder"]["name"] == "ben"

    # A later override wins over an earlier one.
    resp = await client.post(
        f"{API}/schedules/pay/overrides",
        json={"start": "2026-11-26T11:00:00Z", "end": "2026-11-26T13:00:00Z", "responder": "ann"},
    )
    assert resp.status_code == 201, resp.text
    second = resp.json()["id"]
    assert (await oncall(client, "pay"))["responder"]["name"] == "ann"
    detail = await get(client, "/schedules/pay")
    assert [o["id"] for o in detail["overrides"]] == [first, second]

    # Overrides that are over no longer show on the schedule.
    clock.set(utc(2026, 11, 26, 13, 30))
    detail = await get(client, "/schedules/pay")
    assert [o["id"] for o in detail["overrides"]] == [first]
    assert (await oncall(client, "pay"))["responder"]["name"] == "cat"

    resp = await client.delete(f"{API}/schedules/pay/overrides/{first}")
    assert resp.status_code == 204
    assert (await oncall(client, "pay"))["responder"]["name"] == "ben"
    resp = await client.delete(f"{API}/schedules/pay/overrides/{first}")
    assert resp.status_code == 404
    resp = await client.delete(f"{API}/schedules/other/overrides/{second}")
    assert resp.status_code == 404


async def test_override_validation(client: httpx.AsyncClient) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    url = f"{API}/schedules/pay/overrides"
    resp = await client.post(
        url,
        json={"start": "2026-11-26T10:00:00", "end": "2026-11-27T10:00:00Z", "responder": "cat"},
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"][-1] == "start"
    resp = await client.post(
        url,
        json={"start": "2026-11-27T10:00:00Z", "end": "2026-11-26T10:00:00Z", "responder": "cat"},
    )
    assert resp.status_code == 422
    assert "end must be after start" in resp.text
    resp = await client.post(
        url,
        json={"start": "2026-11-26T10:00:00Z", "end": "2026-11-27T10:00:00Z", "responder": "zed"},
    )
    assert resp.status_code == 400
    assert "'zed'" in resp.json()["detail"]
    resp = await client.post(
        f"{API}/schedules/none/overrides",
        json={"start": "2026-11-26T10:00:00Z", "end": "2026-11-27T10:00:00Z", "responder": "cat"},
    )
    assert resp.status_code == 404
    assert (await get(client, "/schedules/pay"))["overrides"] == []


async def test_overrides_in_a_put_replace_the_stored_ones_only_when_given(
    client: httpx.AsyncClient,
) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    resp = await client.post(
        f"{API}/schedules/pay/overrides",
        json={"start": "2026-11-26T10:00:00Z", "end": "2026-11-27T10:00:00Z", "responder": "cat"},
    )
    assert resp.status_code == 201
    kept = await put(client, "/schedules/pay", weekly(["ann", "ben"]), 200)
    assert [o["responder"] for o in kept["overrides"]] == ["cat"]

    with_overrides = weekly(["ann", "ben"]) | {
        "overrides": [
            {"start": "2026-11-26T00:00:00Z", "end": "2026-11-28T00:00:00Z", "responder": "ann"}
        ]
    }
    replaced = await put(client, "/schedules/pay", with_overrides, 200)
    assert [o["responder"] for o in replaced["overrides"]] == ["ann"]
    assert (await oncall(client, "pay"))["responder"]["name"] == "ann"
    again = await put(client, "/schedules/pay", with_overrides, 200)
    assert again["overrides"] == replaced["overrides"]  # same ids: nothing rewritten

    cleared = await put(client, "/schedules/pay", weekly(["ann", "ben"]) | {"overrides": []}, 200)
    assert cleared["overrides"] == []
    assert (await oncall(client, "pay"))["responder"]["name"] == "ben"


# --- shifts and the 7-day limit -----------------------------------------------------


async def test_shifts(client: httpx.AsyncClient, clock: ManualClock) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    default = await get(client, "/schedules/pay/shifts")
    assert default["schedule"] == "pay"
    assert parse(default["from"]) == clock.now()
    assert parse(default["to"]) == clock.now() + timedelta(days=14)
    assert default["warnings"] == []
    assert [
        (s["responder"], parse(s["start"]), parse(s["end"]), s["source"]) for s in default["shifts"]
    ] == [
        ("ben", utc(2026, 11, 26, 12), utc(2026, 11, 30, 14), "weekly"),
        ("ann", utc(2026, 11, 30, 14), utc(2026, 12, 7, 14), "weekly"),
        ("ben", utc(2026, 12, 7, 14), utc(2026, 12, 10, 12), "weekly"),
    ]

    resp = await client.post(
        f"{API}/schedules/pay/overrides",
        json={"start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z", "responder": "cat"},
    )
    assert resp.status_code == 201
    ranged = await get(
        client,
        "/schedules/pay/shifts",
        **{"from": "2026-12-01T00:00:00Z", "to": "2026-12-03T00:00:00+00:00"},
    )
    assert [(s["responder"], s["source"]) for s in ranged["shifts"]] == [
        ("cat", "override"),
        ("ann", "weekly"),
    ]
    assert parse(ranged["shifts"][1]["end"]) == utc(2026, 12, 3)
    only_from = await get(client, "/schedules/pay/shifts", **{"from": "2026-12-01T00:00:00Z"})
    assert parse(only_from["to"]) == utc(2026, 12, 15)

    bad: list[tuple[dict[str, str], int, str]] = [
        ({"from": "2026-12-01T00:00:00"}, 422, "from"),
        ({"to": "2026-12-01"}, 422, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2027-01-03T00:00:00Z"}, 400, "366 days"),
        ({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, 400, "after"),
    ]
    for params, status, mention in bad:
        resp = await client.get(f"{API}/schedules/pay/shifts", params=params)
        assert resp.status_code == status, (params, resp.text)
        assert mention in resp.text, (params, resp.text)
    year = await get(
        client,
        "/schedules/pay/shifts",
        **{"from": "2026-01-01T00:00:00Z", "to": "2027-01-02T00:00:00Z"},
    )
    assert len(year["shifts"]) == 9 + 2  # weekly from 2026-11-02; the override splits one


async def test_more_than_seven_days_on_call_is_warned_about(client: httpx.AsyncClient) -> None:
    await people(client)
    normal = await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    assert normal["warnings"] == []
    # The fall-back change (2026-11-01) inside a weekly shift (7 days + 1 hour
    # elapsed) is not flagged.
    await put(client, "/schedules/fall", weekly(["ann", "ben"], start="2026-10-05T09:00:00"))
    shifts = await get(
        client,
        "/schedules/fall/shifts",
        **{"from": "2026-10-20T00:00:00Z", "to": "2026-11-16T00:00:00Z"},
    )
    assert parse(shifts["shifts"][1]["end"]) - parse(shifts["shifts"][1]["start"]) == timedelta(
        days=7, hours=1
    )
    assert shifts["warnings"] == []

    long = await put(client, "/schedules/long", weekly(["ann", "ben"], shift="2w"), 201)
    assert long["warnings"], long
    assert all("(limit 7 days)" in w for w in long["warnings"])
    # From now (ben's shift already under way) to 8 weeks ahead.
    assert long["warnings"][0].startswith("ann is on call for 14 days without a break")
    assert (await get(client, "/schedules/long"))["warnings"] == long["warnings"]
    shifts = await get(client, "/schedules/long/shifts", **{"to": "2027-01-30T00:00:00Z"})
    assert [w.split()[0] for w in shifts["warnings"]] == ["ann", "ben", "ann", "ben"]

    alone = await put(client, "/schedules/alone", weekly(["cat"]), 201)
    assert len(alone["warnings"]) == 1
    assert alone["warnings"][0].startswith("cat is on call for 56 days without a break")


async def test_daily_handoff_follows_new_york_wall_clock_across_dst(
    client: httpx.AsyncClient,
) -> None:
    await people(client)
    daily = {
        "time_zone": "America/New_York",
        "layers": [
            {
                "name": "daily",
                "participants": ["ann", "ben"],
                "shift": "1d",
                "start": "2026-03-01T09:00:00",
                "handoff": "09:00",
            }
        ],
    }
    await put(client, "/schedules/daily", daily, 201)

    async def who(at: str) -> tuple[str, datetime]:
        answer = await oncall(client, "daily", at=at)
        return answer["responder"]["name"], parse(answer["until"])

    # Friday 2026-03-06, EST (UTC-5): 09:00 local is 14:00 UTC.
    assert await who("2026-03-06T13:00:00Z") == ("ann", utc(2026, 3, 6, 14))
    assert await who("2026-03-06T13:59:59Z") == ("ann", utc(2026, 3, 6, 14))
    assert await who("2026-03-06T14:00:00Z") == ("ben", utc(2026, 3, 7, 14))
    # Monday 2026-03-09, after the change to EDT (UTC-4): 09:00 local is 13:00 UTC.
    assert await who("2026-03-09T12:59:00Z") == ("ben", utc(2026, 3, 9, 13))
    assert await who("2026-03-09T13:00:00Z") == ("ann", utc(2026, 3, 10, 13))
    assert await who("2026-03-09T13:30:00Z") == ("ann", utc(2026, 3, 10, 13))

    shifts = await get(
        client,
        "/schedules/daily/shifts",
        **{"from": "2026-03-07T14:00:00Z", "to": "2026-03-09T13:00:00Z"},
    )
    lengths = [parse(s["end"]) - parse(s["start"]) for s in shifts["shifts"]]
    assert lengths == [timedelta(hours=23), timedelta(hours=24)]  # spring forward on the 8th


# --- escalation policies ------------------------------------------------------------


async def test_policy_round_trip(client: httpx.AsyncClient) -> None:
    await people(client)
    await put(client, "/schedules/primary", weekly(["ann", "ben"]), 201)
    body = {
        "steps": [
            {"targets": {"schedules": ["primary"]}, "channels": ["sms"], "delay_minutes": 5},
            {"targets": {"responders": ["cat"]}, "delay_minutes": 10},
        ],
        "repeat": 1,
    }
    created = await put(client, "/escalation-policies/pay-oncall", body, 201)
    assert created == {
        "name": "pay-oncall",
        "steps": [
            {
                "targets": {"schedules": ["primary"], "responders": []},
                "channels": ["sms"],
                "delay_minutes": 5.0,
            },
            {
                "targets": {"schedules": [], "responders": ["cat"]},
                "channels": ["sms", "voice"],
                "delay_minutes": 10.0,
            },
        ],
        "repeat": 1,
        "ack": "anyone",
    }
    assert await get(client, "/escalation-policies/pay-oncall") == created
    assert await get(client, "/escalation-policies") == [created]
    assert await put(client, "/escalation-policies/pay-oncall", created, 200) == created
    body["repeat"] = 0
    assert (await put(client, "/escalation-policies/pay-oncall", body, 200))["repeat"] == 0

    resp = await client.put(
        f"{API}/escalation-policies/p",
        json={"steps": [{"targets": {"schedules": ["nope"], "responders": ["zed"]}}]},
    )
    assert resp.status_code == 400
    assert "'zed'" in resp.json()["detail"]
    resp = await client.put(
        f"{API}/escalation-policies/p", json={"steps": [{"targets": {"schedules": ["nope"]}}]}
    )
    assert resp.status_code == 400
    assert resp.json()["detail"] == "policy 'p': unknown schedule 'nope'"
    resp = await client.put(f"{API}/escalation-policies/p", json={"steps": [{"targets": {}}]})
    assert resp.status_code == 422
    resp = await client.put(f"{API}/escalation-policies/p", json=body | {"name": "q"})
    assert resp.status_code == 400
    resp = await client.get(f"{API}/escalation-policies/p")
    assert resp.status_code == 404
