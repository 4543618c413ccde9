"""A size limit on every request body (``KLAXON_MAX_BODY_BYTES``), not only on
the webhooks', which read theirs within it themselves: a 413 naming the limit,
before a body that declares its size is read, or as soon as one that does not
passes it."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http import declared_too_large, grew_too_large


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.limit = limit
        # Paths that answer an oversized body in their own format (PagerDuty's).
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        refused = declared_too_large(Headers(scope=scope), self.limit)
        if refused is not None:
            await JSONResponse({"detail": refused}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # FastAPI passes an HTTPException raised while reading on as it is.
                    raise HTTPException(413, detail=grew_too_large(self.limit))
            return message

        await self.app(scope, within_limit, send)
