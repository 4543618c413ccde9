"""The status page's documents, each made once per snapshot: which paths serve
what (``PAGES``), and the headers of every answer. Shared by the routes
(app/statuspage/page_endpoints.py) and the cached fast path in front of them
(app/statuspage/fast.py), so the two answer alike."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import orjson

from app.statuspage import render, v2
from app.statuspage.cache import Rendered, Snapshot

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
STYLESHEET = Rendered(
    render.STYLESHEET,
    '"' + hashlib.sha256(render.STYLESHEET).hexdigest()[:32] + '"',
    "text/css; charset=utf-8",
)


def answer_headers(rendered: Rendered, *, stale: bool, max_age: float) -> dict[str, str]:
    """The headers of every answer of the page."""
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
    return headers


def not_modified(if_none_match: str, etag: str) -> bool:
    wanted = {tag.strip() for tag in if_none_match.split(",")}
    return etag in wanted or "*" in wanted


def _json(name: str) -> Callable[[Snapshot], bytes]:
    return lambda snapshot: orjson.dumps(v2.document(snapshot.summary, name))


#: Every document made from a snapshot, by path: its kind (the snapshot's
#: key), its media type and how it is rendered.
PAGES: dict[str, tuple[str, str, Callable[[Snapshot], bytes]]] = {
    "/status": ("html", "text/html; charset=utf-8", render.page_html),
    "/status/history.atom": ("atom", "application/atom+xml", render.atom),
    "/status/history.rss": ("rss", "application/rss+xml", render.rss),
    **{
        f"/status/api/v2/{name}.json": (name, "application/json", _json(name))
        for name in v2.DOCUMENTS
    },
}
