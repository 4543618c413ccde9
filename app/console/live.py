"""The live view: a server-sent events stream that says "something changed".

Each commit that changes an incident publishes (``Runtime.wake_engine``,
app/live.py); every open console page holds one stream and, on an event,
fetches itself again and swaps in its live parts (static/live.js). An event
carries only a counter, never incident data: the page reads what changed
with its own session.

A stream ends after ``_STREAM_SECONDS`` and the browser reconnects: an open
stream holds up a server's graceful shutdown, and must not outlive its
session by long. No change is missed across the reconnect: each stream gives
its generation as the event id, the browser sends it back (``Last-Event-ID``),
and a stream that finds the generation moved since (or the counter of another
process) says "change" at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.console.web import HERE, SECURITY_HEADERS, Viewer, runtime_of, viewer_of
from app.live import Changes

router = APIRouter(include_in_schema=False)

_KEEPALIVE_SECONDS = 15.0
_STREAM_SECONDS = 25.0  # within Kubernetes' default 30 s of grace at shutdown
_RETRY_MS = 1000


def _change(generation: int) -> str:
    return f"id: {generation}\nevent: change\ndata: {generation}\n\n"


async def _events(changes: Changes, last_seen: str) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    seen = changes.generation
    yield f"retry: {_RETRY_MS}\nid: {seen}\n\n"
    if last_seen and last_seen != str(seen):
        yield _change(seen)  # moved while the browser reconnected
    while loop.time() - started < _STREAM_SECONDS:
        now = await changes.wait(seen, _KEEPALIVE_SECONDS)
        if now != seen:
            seen = now
            yield _change(now)
        else:
            yield ": keepalive\n\n"


@router.get("/live")
async def live(request: Request, viewer: Annotated[Viewer | None, Depends(viewer_of)]) -> Response:
    """``text/event-stream`` of ``change`` events for a signed-in page; 401 otherwise
    (an EventSource does not follow a redirect to the sign-in page usefully)."""
    if viewer is None:
        return Response("sign in first", status_code=401, headers=SECURITY_HEADERS)
    last_seen = request.headers.get("last-event-id", "")[:20]
    stream = _events(runtime_of(request).changes, last_seen)
    headers = SECURITY_HEADERS | {"X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


class ConsoleStatic(StaticFiles):
    """The console's CSS and JS, with the same security headers as its pages
    (cacheable for an hour: the files change only with a release)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        for name in ("X-Content-Type-Options", "Content-Security-Policy"):
            response.headers[name] = SECURITY_HEADERS[name]
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


def static_files() -> ConsoleStatic:
    return ConsoleStatic(directory=HERE / "static")
