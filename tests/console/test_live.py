"""The live stream: a ``change`` event after each commit that changes an
incident (a request's, the engine's), carrying only a counter; none missed
across a reconnect; and a change committed by another process heard through
the database's change cursor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from app.clock import ManualClock
from tests.console.helpers import console_client, sign_in
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, Paging, checkout_alert, open_incident, serve_paging


async def _session_cookie(paging: Paging) -> str:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        return str(client.cookies["klaxon_session"])


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, str]]:
    """The stream's messages, each as its fields (comments left out)."""
    fields: dict[str, str] = {}
    async for line in lines:
        if not line:
            if fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value


async def test_a_commit_that_changes_an_incident_is_announced_as_a_change(
    paging: Paging,
) -> None:
    cookie = await _session_cookie(paging)
    async with (
        httpx.AsyncClient(
            base_url=paging.url, headers={"Cookie": f"klaxon_session={cookie}"}
        ) as client,
        client.stream("GET", "/live") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _events(stream.aiter_lines())
        async with asyncio.timeout(10):
            opening = await anext(events)
            assert opening["retry"] == "1000"
            await open_incident(paging, checkout_alert())
            change = await anext(events)
        assert change["event"] == "change"
        assert int(change["id"]) > int(opening["id"]) and change["data"] == change["id"]


async def test_a_reconnect_that_missed_a_change_hears_of_it_at_once(paging: Paging) -> None:
    cookie = await _session_cookie(paging)
    headers = {"Cookie": f"klaxon_session={cookie}", "Last-Event-ID": "-1"}
    async with (
        httpx.AsyncClient(base_url=paging.url, headers=headers) as client,
        client.stream("GET", "/live") as stream,
    ):
        events = _events(stream.aiter_lines())
        async with asyncio.timeout(10):
            opening = await anext(events)
            missed = await anext(events)
    assert missed["event"] == "change" and missed["id"] == opening["id"]


async def _next_change(paging: Paging, cookie: str, act: Callable[[], Awaitable[object]]) -> bool:
    """Whether a stream of ``paging`` hears a change after ``act`` (within 10 s)."""
    async with (
        httpx.AsyncClient(
            base_url=paging.url, headers={"Cookie": f"klaxon_session={cookie}"}
        ) as client,
        client.stream("GET", "/live") as stream,
    ):
        events = _events(stream.aiter_lines())
        async with asyncio.timeout(10):
            await anext(events)  # the opening
            await act()
            return (await anext(events))["event"] == "change"


async def test_an_engine_commit_a_page_sent_is_announced(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    # No database cursor: only this process's own publishing can tell the stream.
    async with serve_paging(db, fake_twilio, clock, console_live_poll_seconds=0) as paging:
        cookie = await _session_cookie(paging)  # signing in runs the engine once
        await open_incident(paging, checkout_alert())  # its first step is due now
        assert await _next_change(paging, cookie, paging.tick)
        assert len(paging.texts_to(ALICE)) == 2  # the code, then the page


async def test_a_change_committed_by_another_process_is_announced(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    async with (
        serve_paging(db, fake_twilio, clock, console_live_poll_seconds=0.2) as watched,
        serve_paging(db, fake_twilio, clock) as other,
    ):
        cookie = await _session_cookie(watched)

        async def elsewhere() -> None:
            await open_incident(other, checkout_alert())

        assert await _next_change(watched, cookie, elsewhere)
