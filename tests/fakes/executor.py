"""A fake action executor (a Rundeck, an AWX, a webhook receiver) on loopback.

It records every request as it arrived (method, path, headers, the raw body, so
that signatures can be checked over the exact bytes), and answers as told: a
status (one per request from ``statuses``, then ``status``), after ``delay``
seconds (a slow executor), with ``answer`` as the body::

    async with FakeExecutor() as executor:
        executor.statuses.extend([503, 503])   # two failures, then 200
        ... url=f"{executor.url}/api/run" ...
        assert executor.requests[0].json()["incident"] == "1"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.twilio_server import serve_asgi


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeExecutor:
    status: int = 200
    answer: str = '{"id": 4242, "status": "running"}'
    delay: float = 0.0
    statuses: deque[int] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def _handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        self.requests.append(
            Received(
                method=request.method,
                path=request.url.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.popleft() if self.statuses else self.status
        return Response(self.answer, status_code=status, media_type="application/json")

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    async def __aenter__(self) -> FakeExecutor:
        methods = ["GET", "POST", "PUT", "PATCH"]
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=methods)])
        self.url = await self._stack.enter_async_context(serve_asgi(app))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
