"""The cached fast path in front of the status page's routes
(app/statuspage/fast.py) answers exactly as the routes do, and only from a
fresh snapshot: here it is driven as the ASGI middleware it is, over the test
app's state, with a recording ASGI app of the test's own behind it to show what
it passed on."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from app.statuspage.fast import CachedStatusPages
from tests.statuspage.conftest import publish, report
from tests.statuspage.test_cache import ANONYMOUS, EVERY_PATH, cache_of


class Behind:
    """The rest of the application, as far as the fast path can tell: records
    the paths passed on and answers 299."""

    def __init__(self) -> None:
        self.passed: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.passed.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def _get(
    app: FastAPI, behind: Behind, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, dict[str, str], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"klaxon.test"), *(headers or [])],
        "app": app,
    }
    await CachedStatusPages(behind)(scope, receive, send)
    start, body = sent[0], sent[1]
    names = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return start["status"], names, body.get("body", b"")


async def test_a_fresh_snapshot_is_answered_as_the_route_answers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    number = await report(client)
    await publish(client, number, components={"checkout": "major_outage"})
    behind = Behind()
    for path in EVERY_PATH:
        # The client's requests pass the fast path too: a snapshot made stale
        # before each sends them to the route (which refreshes it).
        cache_of(app).invalidate()
        routed = await client.get(path, headers=ANONYMOUS)
        assert routed.status_code == 200, path
        status, headers, body = await _get(app, behind, path)
        assert (status, body) == (200, routed.content), path
        assert headers == dict(routed.headers), path
        etag = [(b"if-none-match", routed.headers["etag"].encode())]
        cache_of(app).invalidate()
        routed_304 = await client.get(path, headers={**ANONYMOUS, "If-None-Match": "x, " + "*"})
        status, headers, body = await _get(app, behind, path, etag)
        assert (status, body, routed_304.status_code) == (304, b"", 304), path
        assert headers == dict(routed_304.headers), path
    assert behind.passed == []
    assert cache_of(app).refreshes == 2 * len(EVERY_PATH)


async def test_what_is_not_a_fresh_cached_get_goes_the_usual_way(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    behind = Behind()
    summary = "/status/api/v2/summary.json"
    assert (await _get(app, behind, summary))[0] == 299  # nothing read yet
    assert (await client.get(summary, headers=ANONYMOUS)).status_code == 200
    assert (await _get(app, behind, summary))[0] == 200
    body = [(b"content-length", b"12")]
    assert (await _get(app, behind, summary, body))[0] == 299  # the body limit's to judge
    assert (await _get(app, behind, "/status/style.css"))[0] == 299  # not a snapshot's
    assert (await _get(app, behind, "/api/v1/incidents"))[0] == 299
    cache_of(app).invalidate()  # a publication: the next read refreshes, the long way
    assert (await _get(app, behind, summary))[0] == 299
    assert behind.passed == [summary, summary, "/status/style.css", "/api/v1/incidents", summary]
