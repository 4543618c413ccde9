"""The status page's cached answers, given before the rest of the application.

Issue 18 asks one worker for 1,000 requests/s of ``summary.json`` from the
cache. A profile of a cached answer going the long way (py-spy, ``python -m
tests.perf.status --profile``) found the answer itself already made (bytes and
ETag, once per snapshot: app/statuspage/cache.py) and the time in what every
request passes on the way: matching the path against every route of the API and
the console, resolving FastAPI's dependencies (two plain functions, each run on
the thread pool), the request deadline's task, the body limit, and Starlette's
response object.

This middleware, outermost, answers a ``GET`` of one of the page's documents
(app/statuspage/documents.py ``PAGES``) from a *fresh* snapshot with the
same status, headers and body as the route would. Anything else goes the usual
way: no snapshot yet or a refresh due (the route waits for it, under the request
deadline), a stale copy (the route marks it), a request with a body (the body
limit answers it), a ``root_path``. Nothing here waits, so there is nothing for
the deadline to bound.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.statuspage.documents import PAGES, answer_headers, not_modified


class CachedStatusPages:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] in PAGES
            and not scope.get("root_path")
            and await _answered(scope, send)
        ):
            return
        await self.app(scope, receive, send)


async def _answered(scope: Scope, send: Send) -> bool:
    """Whether the answer was sent from a fresh snapshot."""
    state = scope["app"].state
    runtime = getattr(state, "runtime", None)
    cache = getattr(state, "status_cache", None)  # made by the first request the long way
    if cache is None or runtime is None:
        return False
    snapshot = cache.fresh(runtime)
    if snapshot is None:
        return False
    if_none_match = None
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return False  # a body: app/body_limit.py's to judge
        if name == b"if-none-match" and if_none_match is None:
            if_none_match = value.decode("latin-1")
    rendered = snapshot.render(*PAGES[scope["path"]])
    max_age = runtime.settings.status_cache_seconds
    headers = [
        (key.lower().encode("latin-1"), item.encode("latin-1"))
        for key, item in answer_headers(rendered, stale=False, max_age=max_age).items()
    ]
    if if_none_match is not None and not_modified(if_none_match, rendered.etag):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return True
    headers.append((b"content-length", str(len(rendered.body)).encode("latin-1")))
    headers.append((b"content-type", rendered.media_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": rendered.body})
    return True
