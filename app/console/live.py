"""The live view: a server-sent events stream that says "something changed".

Each commit that changes an incident publishes (the boundary's ``uow.wake()``,
app/transaction.py, and app/live.py); every open console page holds one stream and, on an event,
fetches itself again and swaps in its live parts (static/live.js). An event
carries only a counter, never incident data: the page reads what changed
with its own session.

A stream ends after ``_STREAM_SECONDS`` and the browser reconnects: an open
stream holds up a server's graceful shutdown, and must not outlive its
session by long. No change is missed across the reconnect: each stream gives
its mark as the event id, the browser sends it back (``Last-Event-ID``), and
a stream that finds the mark moved since (or the mark of another process)
says "change" at once.

Across processes: a process's counter moves only with its own commits (the
request's, and since issue 15 the engine's: a step fired, a page sent). So
that a change committed by another worker or replica reaches the page too,
each stream also reads the database's change cursor, the newest timeline
line's id (an index's last entry: one cheap read), every
``console_live_poll_seconds``. The mark is the sum of the two (each only
grows, so the sum moves when either does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from app.console.web import HERE, SECURITY_HEADERS, Viewer, runtime_of, viewer_of
from app.models import timeline_table
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

_KEEPALIVE_SECONDS = 15.0
_STREAM_SECONDS = 25.0  # within Kubernetes' default 30 s of grace at shutdown
_RETRY_MS = 1000


def _change(mark: int) -> str:
    return f"id: {mark}\nevent: change\ndata: {mark}\n\n"


async def _read_cursor(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        found = (await session.execute(select(func.max(timeline_table.c.id)))).scalar()
    return int(found or 0)


async def _cursor(runtime: Runtime, last: int) -> int:
    """The newest timeline line's id (``last`` when the database cannot say).
    Shielded: a stream cancelled when its browser goes away lets the read finish
    and its session close, rather than leave a connection mid-statement (on
    SQLite, holding a lock that makes the next writer wait)."""
    try:
        return await asyncio.shield(_read_cursor(runtime))
    except asyncio.CancelledError:
        raise
    except Exception:  # the database is away: the stream goes on, unchanged
        log.warning("console live: the change cursor could not be read", exc_info=True)
        return last


async def _events(runtime: Runtime, last_seen: str) -> AsyncIterator[str]:
    changes = runtime.changes
    poll = runtime.settings.console_live_poll_seconds
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    cursor = await _cursor(runtime, 0) if poll else 0
    seen = changes.generation
    mark = seen + cursor
    yield f"retry: {_RETRY_MS}\nid: {mark}\n\n"
    if last_seen and last_seen != str(mark):
        yield _change(mark)  # moved while the browser reconnected
    while loop.time() - started < _STREAM_SECONDS:
        seen = await changes.wait(seen, min(poll, _KEEPALIVE_SECONDS) or _KEEPALIVE_SECONDS)
        if poll:
            cursor = await _cursor(runtime, cursor)
        if seen + cursor != mark:
            mark = seen + cursor
            quiet_since = loop.time()
            yield _change(mark)
        elif loop.time() - quiet_since >= _KEEPALIVE_SECONDS:
            quiet_since = loop.time()
            yield ": keepalive\n\n"


@router.get("/live")
async def live(request: Request, viewer: Annotated[Viewer | None, Depends(viewer_of)]) -> Response:
    """``text/event-stream`` of ``change`` events for a signed-in page; 401 otherwise
    (an EventSource does not follow a redirect to the sign-in page usefully)."""
    if viewer is None:
        return Response("sign in first", status_code=401, headers=SECURITY_HEADERS)
    last_seen = request.headers.get("last-event-id", "")[:20]
    stream = _events(runtime_of(request), last_seen)
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
