"""``KLAXON_STATUS_HOST``: requests for that host name get the status page and
nothing else, so the name can be exposed to the public (a proxy or DNS name in
front of the same port) while the API, the docs and /metrics stay private.

The check is on the Host header the client sent, so it only closes what comes
in under that name: the private names still serve everything, as before.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

STATUS_PREFIX = "/status"
_NOT_FOUND = json.dumps({"detail": "Not Found"}).encode()


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host: str = value.decode("latin-1").strip().lower()
            if host.startswith("["):  # [::1]:8080
                return host.split("]", 1)[0] + "]"
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


def is_status_path(path: str) -> bool:
    return path == STATUS_PREFIX or path.startswith(STATUS_PREFIX + "/")


class StatusHostOnly:
    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        self.host = host.strip().lower().rstrip(".")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and _host(scope).rstrip(".") == self.host
            and not is_status_path(scope["path"])
        ):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_NOT_FOUND)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _NOT_FOUND})
            return
        await self.app(scope, receive, send)
