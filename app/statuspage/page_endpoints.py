"""The public status page: ``/status``, its Statuspage-shaped JSON under
``/status/api/v2/``, its feeds and stylesheet. No login: anyone who reaches the
port may read them (``KLAXON_STATUS_HOST`` can give them a host name of their
own). Every answer comes from the cache (app/statuspage/cache.py) with an ETag,
Cache-Control, a strict Content-Security-Policy, and ``X-Status-Stale: 1`` when
the database could not be read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app.runtime import Runtime
from app.statuspage import v2
from app.statuspage.cache import Rendered, Snapshot, StatusCache, cache_dependency
from app.statuspage.documents import PAGES, STYLESHEET, answer_headers, not_modified

router = APIRouter(prefix="/status", tags=["status page (public)"])
CacheDep = Annotated[StatusCache, Depends(cache_dependency)]

JSON_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    503: {"description": "The database was never reachable since this process started"},
}


def _answer(request: Request, rendered: Rendered, *, stale: bool, max_age: float) -> Response:
    headers = answer_headers(rendered, stale=stale, max_age=max_age)
    if not_modified(request.headers.get("if-none-match", ""), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


async def _runtime(request: Request) -> Runtime:
    """As app.deps.get_runtime, but a coroutine: FastAPI runs it inline, where a
    plain function costs every request a hop to the thread pool."""
    runtime: Runtime = request.app.state.runtime
    return runtime


PageRuntime = Annotated[Runtime, Depends(_runtime)]


async def _serve(
    request: Request,
    runtime: Runtime,
    cache: StatusCache,
    kind: str,
    media_type: str,
    make: Callable[[Snapshot], bytes],
) -> Response:
    snapshot = await cache.get(runtime)
    rendered = snapshot.render(kind, media_type, make)
    return _answer(
        request, rendered, stale=snapshot.stale, max_age=runtime.settings.status_cache_seconds
    )


@router.get("", response_class=Response, include_in_schema=False)
async def status_page(request: Request, runtime: PageRuntime, cache: CacheDep) -> Response:
    return await _serve(request, runtime, cache, *PAGES["/status"])


@router.get("/style.css", response_class=Response, include_in_schema=False)
async def stylesheet(request: Request, runtime: PageRuntime) -> Response:
    return _answer(request, STYLESHEET, stale=False, max_age=runtime.settings.status_cache_seconds)


@router.get("/history.atom", response_class=Response, include_in_schema=False)
async def history_atom(request: Request, runtime: PageRuntime, cache: CacheDep) -> Response:
    return await _serve(request, runtime, cache, *PAGES["/status/history.atom"])


@router.get("/history.rss", response_class=Response, include_in_schema=False)
async def history_rss(request: Request, runtime: PageRuntime, cache: CacheDep) -> Response:
    return await _serve(request, runtime, cache, *PAGES["/status/history.rss"])


def _document_route(name: str) -> None:
    path = f"/status/api/v2/{name}.json"

    async def document(request: Request, runtime: PageRuntime, cache: CacheDep) -> Response:
        return await _serve(request, runtime, cache, *PAGES[path])

    document.__name__ = "status_" + name.replace("/", "_").replace("-", "_")
    router.add_api_route(
        path.removeprefix("/status"),
        document,
        methods=["GET"],
        response_class=Response,
        responses=JSON_DOC,
        summary=f"Statuspage v2 {name}.json",
        description=(
            f"The page's {name} in Atlassian Statuspage's public v2 shape; no token."
            + (" From the maintenance windows with a public_title." if "maint" in name else "")
        ),
    )


for _name in v2.DOCUMENTS:
    _document_route(_name)
