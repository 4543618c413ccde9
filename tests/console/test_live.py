"""The live stream: a ``change`` event after each commit that changes an
incident, carrying only a counter; and none missed across a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

from tests.console.helpers import console_client, sign_in
from tests.paging import ALICE, Paging, checkout_alert, open_incident


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
