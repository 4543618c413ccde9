"""Calendar feeds and the shift CSV over HTTP, on both databases: the feed
parses back with icalendar (one VEVENT per shift, UTC, stable UIDs, transparent,
REFRESH-INTERVAL, a year ahead), its secret is per responder, stored hashed and
revoked by making a new one; DST moves a Berlin handoff in UTC; the CSV counts
off-hours in each responder's zone."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar
from sqlalchemy import select

from app.models import calendar_feeds_table
from tests.console.helpers import console_client, csrf_of, sign_in
from tests.paging import ALICE, BOB, CAROL, Paging

LINK = re.compile(r'id="feed-link" class="wide" readonly value="https://[^/"]+(/calendar/[^"]+)"')
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def make_link(client: httpx.AsyncClient) -> str:
    page = await client.get("/me/calendar")
    made = await client.post("/me/calendar", data={"csrf": csrf_of(page)})
    assert made.status_code == 200, made.text
    found = LINK.search(made.text)
    assert found is not None, made.text[:2000]
    return found.group(1)


def events(body: bytes) -> list[dict[str, Any]]:
    calendar = Calendar.from_ical(body)
    return [
        {
            "uid": str(e["UID"]),
            "start": e.decoded("DTSTART"),
            "end": e.decoded("DTEND"),
            "summary": str(e["SUMMARY"]),
            "transp": str(e["TRANSP"]),
        }
        for e in calendar.walk("VEVENT")
    ]


async def test_a_responders_feed_parses_back_with_every_shift(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, CAROL)
        link = await make_link(client)
        feed = await client.get(link)
        again = await client.get(link)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-CALNAME"]) == "On call: carol"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in feed.text
    found = events(feed.content)
    # carol: nights-only, 00:00-06:00 UTC every night, from 30 days back to a year ahead.
    assert all(e["transp"] == "TRANSPARENT" for e in found)
    assert all(e["summary"] == "on call: nights-only (night)" for e in found)
    starts = [e["start"] for e in found]
    # The layer starts on 1 November (inside the 30 days back).
    assert starts[0] == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    assert all(s.utcoffset() == timedelta(0) and s.hour == 0 for s in starts)
    assert "DTSTART:20261101T000000Z" in feed.text  # written in UTC
    assert starts[-1] >= NOW + timedelta(days=365)
    # 1-25 November, tonight's (over), and a night each for 366 days ahead.
    assert len(found) == len({e["uid"] for e in found}) == 25 + 1 + 366
    assert events(again.content) == found  # stable: same UIDs, same shifts


async def test_uids_survive_a_day_passing_and_an_override_is_its_own_event(
    paging: Paging,
) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        link = await make_link(client)
        before = events((await client.get(link)).content)
        added = await paging.api.post(
            "/api/v1/schedules/checkout-primary/overrides",
            json={
                "start": "2026-11-27T09:00:00Z",
                "end": "2026-11-28T09:00:00Z",
                "responder": "bob",
            },
        )
        assert added.status_code == 201
        paging.clock.advance(days=1)
        after = events((await client.get(link)).content)
    weekly = [e for e in before if "checkout-secondary" in str(e["summary"])]
    assert {str(e["uid"]) for e in weekly} <= {str(e["uid"]) for e in after}
    [override] = [e for e in after if "(override)" in str(e["summary"])]
    assert override["summary"] == "on call: checkout-primary (override)"
    assert override["start"] == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert override["end"] == datetime(2026, 11, 28, 9, tzinfo=UTC)


async def test_a_schedule_feed_has_everyone_and_dst_moves_the_utc_handoff(paging: Paging) -> None:
    berlin = {
        "name": "berlin-days",
        "time_zone": "Europe/Berlin",
        "layers": [
            {
                "name": "daily",
                "participants": ["alice", "bob"],
                "shift": "1d",
                "start": "2026-11-01T09:00:00",
                "handoff": "09:00",
            }
        ],
    }
    put = await paging.api.put("/api/v1/schedules/berlin-days", json=berlin)
    assert put.status_code in (200, 201), put.text
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        link = await make_link(client)
        feed = await client.get(link.replace(".ics", "/schedules/berlin-days.ics"))
    assert feed.status_code == 200
    found = {e["start"]: e for e in events(feed.content)}
    # 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC from 28 March 2027 (CEST).
    assert datetime(2027, 3, 27, 8, tzinfo=UTC) in found
    assert datetime(2027, 3, 28, 7, tzinfo=UTC) in found
    assert datetime(2027, 3, 28, 8, tzinfo=UTC) not in found
    assert found[datetime(2027, 3, 27, 8, tzinfo=UTC)]["end"] == datetime(
        2027, 3, 28, 7, tzinfo=UTC
    )
    names = {str(e["summary"]).split(" ")[0] for e in found.values()}
    assert names == {"alice", "bob"}
    assert all("berlin-days (daily)" in str(e["summary"]) for e in found.values())


async def test_the_secret_is_stored_hashed_and_a_new_one_revokes_the_old(
    paging: Paging,
) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        first = await make_link(client)
        shown_again = await client.get("/me/calendar")
        second = await make_link(client)
        old = await client.get(first)
        new = await client.get(second)
        wrong = await client.get("/calendar/" + "x" * 43 + ".ics")
    assert first != second
    assert old.status_code == 404 and wrong.status_code == 404 and new.status_code == 200
    secret = second.removeprefix("/calendar/").removesuffix(".ics")
    assert secret not in shown_again.text and "cannot be shown again" in shown_again.text
    async with paging.app.state.runtime.sessions() as session:
        stored = list((await session.execute(select(calendar_feeds_table))).all())
    assert [row.secret_hash for row in stored] == [hashlib.sha256(secret.encode()).hexdigest()]


async def test_the_csv_counts_off_hours_in_each_responders_zone(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, BOB)
        answer = await client.get("/shifts.csv", params={"from": "2026-11-26", "to": "2026-11-26"})
        backwards = await client.get(
            "/shifts.csv", params={"from": "2026-11-26", "to": "2026-11-01"}
        )
        nonsense = await client.get("/shifts.csv", params={"from": "yesterday"})
        too_long = await client.get(
            "/shifts.csv", params={"from": "2025-01-01", "to": "2026-11-26"}
        )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "shifts-2026-11-26-to-2026-11-26.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    shifts = {(r["responder"], r["schedule"]): r for r in rows if r["kind"] == "shift"}
    # A Thursday. alice (New York) works 09:00-18:00 there, 14:00-23:00 UTC: 15 of her
    # 24 hours are off-hours. bob (Berlin) 08:00-17:00 UTC. carol (UTC) is on call
    # 00:00-06:00: all of it off-hours.
    assert shifts[("alice", "checkout-primary")]["hours"] == "24.00"
    assert shifts[("alice", "checkout-primary")]["off_hours"] == "15.00"
    assert shifts[("bob", "checkout-secondary")]["off_hours"] == "15.00"
    assert shifts[("carol", "nights-only")]["hours"] == "6.00"
    assert shifts[("carol", "nights-only")]["off_hours"] == "6.00"
    totals = {r["responder"]: r for r in rows if r["kind"] == "total"}
    assert totals["carol"]["off_hours"] == "6.00" and totals["alice"]["hours"] == "24.00"
    assert backwards.status_code == 422 and "before" in backwards.text
    assert nonsense.status_code == 422 and "not a date" in nonsense.text
    assert too_long.status_code == 422 and "at most" in too_long.text
