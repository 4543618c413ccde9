"""The schedules pages over HTTP, on both databases: the calendar draws layers,
restrictions and overrides distinctly in the viewer's zone; "take this shift"
is two requests (a confirm page, then a CSRF-checked POST) that add an
override in the signed-in responder's name with them as its actor; the 7-day
warning shows where it applies; bad input is a 4xx that changes nothing."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from tests.console.helpers import console_client, csrf_of, sign_in
from tests.paging import ALICE, BOB, Paging

TAKE = re.compile(r'href="(/schedules/checkout-primary/take\?[^"]+)"')


async def overrides_of(paging: Paging, schedule: str) -> list[dict[str, Any]]:
    answer = await paging.api.get(f"/api/v1/schedules/{schedule}")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["overrides"]
    return found


async def take_first(client: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    """Tap one (the first Take link) and tap two (confirm); the POST's answer."""
    links = TAKE.findall(page.text)
    assert links, page.text[:2000]
    confirm = await client.get(html.unescape(links[0]))
    assert confirm.status_code == 200, confirm.text
    fields = dict(re.findall(r'name="(start|end)" value="([^"]+)"', confirm.text))
    return await client.post(
        "/schedules/checkout-primary/take", data={"csrf": csrf_of(confirm), **fields}
    )


async def test_the_calendar_draws_layers_restrictions_and_overrides(paging: Paging) -> None:
    added = await paging.api.post(
        "/api/v1/schedules/nights-only/overrides",
        json={"start": "2026-11-27T02:00:00Z", "end": "2026-11-27T04:00:00Z", "responder": "bob"},
    )
    assert added.status_code == 201, added.text
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get("/schedules/nights-only", params={"tz": "UTC"})
    assert page.status_code == 200
    # Monday 23 November to Sunday 29 November, in UTC as asked.
    days = re.findall(r'data-day="([0-9-]+)"', page.text)
    assert days == [f"2026-11-{d}" for d in range(23, 30)]
    friday = page.text.split('data-day="2026-11-27"')[1].split('data-day="2026-11-28"')[0]
    # carol's night layer (00:00-06:00): a bar, and the rest of her rotation drawn as
    # outside its window; the override and the result drawn apart.
    assert 'class="bar bar-layer" x="0.0" y="3" width="250.0"' in friday
    assert 'class="bar bar-outside"' in friday
    assert 'class="bar bar-override" x="83.33"' in friday
    assert 'class="bar bar-oncall-override"' in friday
    shifts = re.findall(r'<span class="when">([^<]+)</span>\s*<strong><bdi>(\w+)', friday)
    assert shifts == [("00:00-02:00", "carol"), ("02:00-04:00", "bob"), ("04:00-06:00", "carol")]
    assert "shift-override" in friday
    assert page.headers["set-cookie"].startswith("klaxon_tz=UTC")


async def test_the_viewers_zone_moves_the_days_and_a_dst_day_says_so(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)  # alice lives in America/New_York
        own = await client.get("/schedules/nights-only", params={"start": "2026-11-01"})
        berlin = await client.get(
            "/schedules/nights-only", params={"tz": "Europe/Berlin", "start": "2026-11-26"}
        )
        kept = await client.get("/schedules/nights-only", params={"start": "2026-11-26"})
        bad = await client.get("/schedules/nights-only", params={"tz": "Mars/Olympus"})
    assert 'id="zone">America/New_York<' in own.text
    # 1 November 2026 is the fall-back day in New York: 25 hours.
    sunday = own.text.split('data-day="2026-11-01"')[1].split("</h2>")[0]
    assert "(25 hours: clock change)" in sunday
    # carol's 00:00-06:00 UTC is 01:00-07:00 in Berlin.
    thursday = berlin.text.split('data-day="2026-11-26"')[1].split('data-day="2026-11-27"')[0]
    assert re.search(r'<span class="when">01:00-07:00</span>\s*<strong><bdi>carol', thursday)
    assert 'id="zone">Europe/Berlin<' in kept.text  # the cookie kept the choice
    assert bad.status_code == 200 and 'id="zone">Europe/Berlin<' in bad.text


async def test_take_a_shift_in_two_taps_recorded_with_its_actor(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        page = await client.get("/schedules/checkout-primary")
        # alice has been on call since 1 November without a break: the warning shows.
        assert 'id="fatigue"' in page.text and "alice is on call for" in page.text
        done = await take_first(client, page)
        assert done.status_code == 303, done.text
        assert done.headers["location"].endswith("&notice=taken")
        after = await client.get(done.headers["location"])
    assert "Shift taken" in after.text
    [override] = await overrides_of(paging, "checkout-primary")
    # The first Take of bob's week (Berlin) that is not over: today, from now to midnight.
    assert override["responder"] == "bob"
    assert override["created_by"] == "bob via console"
    assert override["start"] == "2026-11-26T12:00:00Z"
    assert override["end"] == "2026-11-26T23:00:00Z"
    oncall = await paging.api.get("/api/v1/schedules/checkout-primary/oncall")
    assert oncall.json()["responder"]["name"] == "bob"


async def test_the_confirm_page_warns_of_over_7_days(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        long = await client.get(
            "/schedules/checkout-primary/take",
            params={"start": "2026-11-26T12:00:00+00:00", "end": "2026-12-05T12:00:00+00:00"},
        )
        short = await client.get(
            "/schedules/checkout-primary/take",
            params={"start": "2026-11-26T12:00:00+00:00", "end": "2026-11-27T12:00:00+00:00"},
        )
    assert 'id="fatigue"' in long.text and "bob is on call for 9 days" in long.text
    assert 'id="fatigue"' not in short.text
    assert "<bdi>alice</bdi>" in short.text  # who is on it now


async def test_bad_takes_are_refused_and_change_nothing(paging: Paging) -> None:
    window = {"start": "2026-11-26T13:00:00+00:00", "end": "2026-11-26T15:00:00+00:00"}
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        csrf = csrf_of(await client.get("/schedules"))
        path = "/schedules/checkout-primary/take"
        forged = await client.post(path, data=window)
        past = await client.post(
            path,
            data={"csrf": csrf, "start": "2026-11-20T09:00:00Z", "end": "2026-11-21T09:00:00Z"},
        )
        naive = await client.post(
            path, data={"csrf": csrf, "start": "2026-11-27T09:00", "end": "2026-11-28T09:00"}
        )
        garbage = await client.post(path, data={"csrf": csrf, "start": "soon", "end": ""})
        too_long = await client.post(
            path, data={"csrf": csrf, "start": "2026-11-27T09:00Z", "end": "2027-01-27T09:00Z"}
        )
        unknown = await client.post("/schedules/nope/take", data={"csrf": csrf, **window})
        missing = await client.get("/schedules/nope")
    assert forged.status_code == 403
    assert past.status_code == 422 and "over" in past.text
    assert naive.status_code == 422 and "UTC offset" in naive.text
    assert garbage.status_code == 422 and "not a time" in garbage.text
    assert too_long.status_code == 422 and "31 days" in too_long.text
    assert unknown.status_code == 404 and missing.status_code == 404
    assert await overrides_of(paging, "checkout-primary") == []


async def test_my_shifts_on_the_oncall_page(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        page = await client.get("/oncall")
    mine = page.text.split('id="my-shifts"')[1]
    # bob's weekly shift on checkout-secondary, running now; nothing of alice's or carol's.
    assert re.findall(r'class="card my-shift" data-my-schedule="([^"]+)"', mine) == [
        "checkout-secondary"
    ]
    assert "<strong>now</strong>" in mine
    # And each schedule's current and next responder with the handoff time.
    assert 'data-schedule="nights-only"' in page.text


MY_PAGES = [
    "/schedules",
    "/schedules/checkout-primary",
    "/schedules/checkout-primary/take?start=2026-11-27T09:00Z&end=2026-11-28T09:00Z",
    "/policies",
    "/policies?service=checkout",
    "/reports",
    "/me/calendar",
    "/shifts.csv",
]


async def test_these_pages_need_a_session_and_keep_the_strict_policy(paging: Paging) -> None:
    async with console_client(paging) as client:
        for path in MY_PAGES:
            answer = await client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/signin?next=%2F"), path
        for path in ["/schedules/checkout-primary/take", "/me/calendar"]:
            answer = await client.post(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=%2F"
        await sign_in(client, paging, ALICE)
        for path in MY_PAGES:
            page = await client.get(path)
            assert page.status_code == 200, path
            policy = page.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
            assert "<script>" not in page.text and " style=" not in page.text, path


async def test_a_month_of_the_busiest_schedule_stays_under_the_page_budget(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get("/schedules/nights-only", params={"view": "month"})
        css = await client.get("/static/console/console.css")
        js = await client.get("/static/console/live.js")
    assert len(re.findall(r'data-day="2026-11-\d\d"', page.text)) == 30
    assert len(page.content) + len(css.content) + len(js.content) <= 150_000
