"""The public status page: ``/status``, its Statuspage-shaped JSON under
``/status/api/v2/``, its feeds and stylesheet. No login: anyone who reaches the
port may read them (``KLAXON_STATUS_HOST`` can give them a host name of their
own). Every answer comes from the cache (app/statuspage/cache.py) with an ETag,
Cache-Control, a strict Content-Security-Policy, and ``X-Status-Stale: 1`` when
the database could not be read."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from app.deps import RuntimeDep
from app.statuspage import render, v2
from app.statuspage.cache import Rendered, Snapshot, StatusCache, status_cache

router = APIRouter(prefix="/status", tags=["status page (public)"])
CacheDep = Annotated[StatusCache, Depends(status_cache)]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
STYLESHEET = Rendered(
    render.STYLESHEET,
    '"' + hashlib.sha256(render.STYLESHEET).hexdigest()[:32] + '"',
    "text/css; charset=utf-8",
)
JSON_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    503: {"description": "The database was never reachable since this process started"},
}


def _answer(request: Request, rendered: Rendered, *, stale: bool, max_age: float) -> Response:
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"public, max-age={max(1, int(max_age))}",
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if rendered.media_type == "application/json":
        headers["Access-Control-Allow-Origin"] = "*"  # widgets on other sites read it
    if stale:
        headers["X-Status-Stale"] = "1"
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if rendered.etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type=rendered.media_type, headers=headers)


async def _serve(
    request: Request,
    runtime: RuntimeDep,
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


def _json(name: str) -> Callable[[Snapshot], bytes]:
    return lambda snapshot: orjson.dumps(v2.document(snapshot.summary, name))


@router.get("", response_class=Response, include_in_schema=False)
async def status_page(request: Request, runtime: RuntimeDep, cache: CacheDep) -> Response:
    return await _serve(
        request, runtime, cache, "html", "text/html; charset=utf-8", render.page_html
    )


@router.get("/style.css", response_class=Response, include_in_schema=False)
async def stylesheet(request: Request, runtime: RuntimeDep) -> Response:
    return _answer(request, STYLESHEET, stale=False, max_age=runtime.settings.status_cache_seconds)


@router.get("/history.atom", response_class=Response, include_in_schema=False)
async def history_atom(request: Request, runtime: RuntimeDep, cache: CacheDep) -> Response:
    return await _serve(request, runtime, cache, "atom", "application/atom+xml", render.atom)


@router.get("/history.rss", response_class=Response, include_in_schema=False)
async def history_rss(request: Request, runtime: RuntimeDep, cache: CacheDep) -> Response:
    return await _serve(request, runtime, cache, "rss", "application/rss+xml", render.rss)


def _document_route(name: str) -> None:
    async def document(request: Request, runtime: RuntimeDep, cache: CacheDep) -> Response:
        return await _serve(request, runtime, cache, name, "application/json", _json(name))

    document.__name__ = "status_" + name.replace("/", "_").replace("-", "_")
    router.add_api_route(
        f"/api/v2/{name}.json",
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
