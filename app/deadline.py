"""Time limits on every request, so that a slow client or a frozen database
costs seconds, never a hang.

* The body must arrive whole within ``KLAXON_BODY_READ_TIMEOUT`` of the
  request's start: a client that declares more than it sends gets a 408 and
  its connection is closed.
* The rest of the request's work (its database time: the token check, the
  statements, the commit) must be done within ``KLAXON_REQUEST_TIMEOUT``; time
  spent waiting for the body does not count. When it runs out the answer is a
  503 with ``Retry-After``, which webhook senders retry.

Why the app runs as a task of its own rather than under ``asyncio.timeout``:
on a frozen database (a server stopped by SIGSTOP answers nothing) a cancelled
request's cleanup, its ROLLBACK and the pool's reset, waits on the same silent
server (asyncpg sends a cancel request and waits for the server to take it
before the connection's next statement), so a cancelled request would still
hang until the freeze ends. Instead, at the deadline the task is cancelled and
left to clean up in the background (``abandon``), and the client has its 503 at
once. Nothing was committed by then, as a webhook answers 2xx only after its
commit: the transaction is rolled back by the cleanup, or by the server when
the connection is gone. The one exception is a COMMIT already on its way when
the server froze, which may take effect when it wakes; the 503 only asks for a
retry, and every webhook is idempotent, so the retry changes nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestDeadline", "abandon", "within"]

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_AFTER_SECONDS = 5

# Tasks cancelled at a deadline and still cleaning up: held here so that they
# are not garbage-collected half-way.
_abandoned: set[asyncio.Future[Any]] = set()


def _forget(task: asyncio.Future[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.info("work abandoned at its deadline ended with %s", type(task.exception()).__name__)


def abandon(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and let it finish its cleanup in the background."""
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_forget)


async def within(seconds: float, work: Awaitable[T]) -> T:
    """``work``'s result, or TimeoutError after ``seconds`` without waiting for
    the abandoned work to clean up (see the module docstring)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        abandon(task)
        raise
    if not done:
        abandon(task)
        raise TimeoutError(f"not done within {seconds:g} s")
    return task.result()


@dataclass
class _Clock:
    """Where one request's time went: waiting for its body, or working."""

    started: float
    waited: float = 0.0  # seconds spent waiting for the body
    waiting_since: float | None = None
    body_complete: bool = False
    response_started: bool = False
    taken_over: bool = False

    def working(self, now: float) -> float:
        waiting = now - self.waiting_since if self.waiting_since is not None else 0.0
        return now - self.started - self.waited - waiting


class RequestDeadline:
    def __init__(self, app: ASGIApp, *, body_seconds: float, work_seconds: float) -> None:
        self.app = app
        self.body_seconds = body_seconds
        self.work_seconds = work_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        clock = _Clock(started=loop.time())
        body_deadline = clock.started + self.body_seconds

        async def timed_receive() -> Message:
            if clock.taken_over:
                return {"type": "http.disconnect"}
            if clock.body_complete:
                return await receive()
            clock.waiting_since = loop.time()
            try:
                async with asyncio.timeout_at(body_deadline):
                    message = await receive()
            except TimeoutError:
                # Passed on as it is, as app/body_limit.py's 413; the client
                # is not waited for again.
                raise HTTPException(
                    408,
                    detail=f"request body not received within {self.body_seconds:g} s",
                    headers={"Connection": "close"},
                ) from None
            finally:
                clock.waited += loop.time() - clock.waiting_since
                clock.waiting_since = None
            if message["type"] != "http.request" or not message.get("more_body", False):
                clock.body_complete = True
            return message

        async def guarded_send(message: Message) -> None:
            if clock.taken_over:
                return
            if message["type"] == "http.response.start":
                clock.response_started = True
            await send(message)

        async def run() -> None:
            await self.app(scope, timed_receive, guarded_send)

        task = asyncio.create_task(run())
        try:
            while not task.done():
                if clock.response_started:  # too late for another answer
                    await asyncio.wait({task})
                    break
                left = self.work_seconds - clock.working(loop.time())
                if left <= 0:
                    break
                await asyncio.wait({task}, timeout=left)
        except asyncio.CancelledError:
            abandon(task)
            raise
        if task.done():
            await task  # its answer was sent; its exception, if any, goes on up
            return
        clock.taken_over = True
        abandon(task)
        log.warning(
            "%s %s: not done within %g s, answered 503",
            scope.get("method"),
            scope.get("path"),
            self.work_seconds,
        )
        response = JSONResponse(
            {"detail": f"not done within {self.work_seconds:g} s (database slow?); retry later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
        await response(scope, receive, send)
