"""What every console page shares: templates, security headers, cookies, CSRF
and the signed-in responder.

* Pages are rendered by Jinja2 with autoescaping on, so alert text (labels,
  annotations, summaries: whatever a monitoring system sent) is always text,
  never markup. Headers forbid the rest: a Content-Security-Policy without
  ``'unsafe-inline'`` (no inline script or style can run even if markup got
  in), no framing, no sniffing, no referrer to other sites.
* The session cookie holds a random secret (app/console/sessions.py), is
  ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` unless ``KLAXON_CONSOLE_DEV``.
* Every form carries a CSRF token. Signed in, it is derived from the session
  secret (only a page of this origin can know it: the cookie is HttpOnly).
  Before sign-in it is a double-submitted random cookie. A POST without the
  right token is refused with a 403 and changes nothing.
* Console routes are left out of the OpenAPI document (they are pages, not
  API): an API bearer token is not a console session, and a page asked for
  without a session redirects to the sign-in page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.console.signin import session_responder
from app.runtime import Runtime

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "klaxon_session"
PRE_COOKIE = "klaxon_csrf"  # the double-submitted token before sign-in
CSRF_FIELD = "csrf"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Viewer:
    """The responder signed in to this request's session."""

    responder_id: int
    name: str
    time_zone: str
    session_secret: str

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


class SignInRequired(Exception):
    """A console page asked for without a live session: redirect to sign in."""


class CsrfRefused(Exception):
    """A form posted without the token of this session (or pre-session cookie)."""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def csrf_for(secret: str) -> str:
    """The CSRF token of a session (or pre-session) secret: knowable only by
    whoever holds the secret, which only this origin's pages do."""
    return hmac.new(secret.encode(), b"klaxon-console-csrf", hashlib.sha256).hexdigest()


def _pre_secret(request: Request) -> tuple[str, bool]:
    """The pre-session secret of the request's cookie, or a new one (True)."""
    existing = request.cookies.get(PRE_COOKIE, "")
    if len(existing) == 43 and existing.replace("-", "").replace("_", "").isalnum():
        return existing, False
    return secrets.token_urlsafe(32), True


def set_cookie(response: Response, runtime: Runtime, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=not runtime.settings.console_dev,
    )


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page, with the security headers and the CSRF token its forms carry."""
    runtime = runtime_of(request)
    new_pre = False
    if viewer is not None:
        csrf = csrf_for(viewer.session_secret)
    else:
        pre, new_pre = _pre_secret(request)
        csrf = csrf_for(pre)
    html = templates.get_template(template).render(
        viewer=viewer,
        csrf=csrf,
        csrf_field=CSRF_FIELD,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if new_pre:
        set_cookie(response, runtime, PRE_COOKIE, pre, 24 * 3600)
    return response


def error_page(
    request: Request,
    viewer: Viewer | None,
    status_code: int,
    title: str,
    message: str,
    *,
    template: str = "error.html",
    **context: Any,
) -> HTMLResponse:
    """A page that says why there is nothing to show (``denied.html`` for a
    refusal, with an ``action`` to take)."""
    return render(
        request,
        template,
        viewer=viewer,
        status_code=status_code,
        title=title,
        message=message,
        **context,
    )


def not_found(request: Request, viewer: Viewer | None, what: str) -> HTMLResponse:
    """The 404 page: "There is no ``what``"."""
    return error_page(request, viewer, 404, "Not found", f"There is no {what}.")


def redirect(location: str) -> RedirectResponse:
    """See other: after a POST, the browser GETs ``location`` (a path of ours)."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    return RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)


def sign_in_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, and back to this page after (a form's POST goes
    back to the list: its target cannot be fetched)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/"
    return redirect(f"/signin?next={quote(target, safe='')}")


async def form_of(request: Request, viewer: Viewer | None) -> dict[str, list[str]]:
    """The posted form (urlencoded), once its CSRF token is checked."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields: dict[str, list[str]] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        fields.setdefault(name, []).append(value)
    given = (fields.get(CSRF_FIELD) or [""])[0]
    if viewer is not None:
        expected = csrf_for(viewer.session_secret)
    else:
        pre = request.cookies.get(PRE_COOKIE, "")
        expected = csrf_for(pre) if pre else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused
    return fields


def first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


def local_time(at: datetime | None, viewer: Viewer | None) -> str:
    if at is None:
        return ""
    zone = viewer.zone if viewer is not None else ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def age(at: datetime | None, now: datetime) -> str:
    """How long ago, in the largest unit that says it: ``45 s``, ``12 min``, ``3 h 5 min``."""
    if at is None:
        return ""
    seconds = max(int((now - at).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def safe_link(url: object) -> str | None:
    """``url`` when it is an http(s) link; anything else (``javascript:``, data)
    is shown as text, never made a link."""
    if not isinstance(url, str):
        return None
    lowered = url.strip().lower()
    return url.strip() if lowered.startswith(("https://", "http://")) else None


templates.globals.update(local_time=local_time, age=age, safe_link=safe_link)


async def viewer_of(request: Request) -> Viewer | None:
    """The responder whose live session cookie came with the request, or None.
    (A bearer token is no session: only the cookie counts.)"""
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret:
        return None
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        found = await session_responder(session, secret, runtime.clock.now())
    if found is None:
        return None
    responder_id, name, time_zone = found
    return Viewer(responder_id, name, time_zone, secret)


async def signed_in(request: Request) -> Viewer:
    """The dependency of every page behind sign-in."""
    viewer = await viewer_of(request)
    if viewer is None:
        raise SignInRequired
    return viewer
