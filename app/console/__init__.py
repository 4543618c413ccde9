"""The web console for the people on call: server-rendered pages under ``/``.

Phone-first HTML (Jinja2 templates, one CSS file, one small script) that
works without JavaScript for what matters at 3 a.m. (acknowledge, resolve),
and follows changes live by server-sent events where the browser runs the
script. Signed in by a code sent by SMS (app/console/signin.py); the
security rules every page shares are in app/console/web.py.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.console import (
    admin,
    feeds,
    incident_actions,
    incidents,
    links,
    live,
    me,
    oidc,
    pages,
    policies,
    reports,
    schedules,
)
from app.console.access import AdminOnly
from app.console.signin import AddressLimits
from app.console.web import CsrfRefused, SignInRequired, error_page, sign_in_redirect


def install(app: FastAPI) -> None:
    """Serve the console on ``app``: its pages, its stream, its static files."""
    app.state.console_limits = {"ask": AddressLimits(), "try": AddressLimits()}
    app.include_router(pages.router)
    app.include_router(incidents.router)
    app.include_router(incident_actions.router)
    app.include_router(live.router)
    # Schedules, policies, calendar feeds and reports (issue 15, part b).
    for part in (schedules, feeds, policies, reports):
        app.include_router(part.router)
    app.mount("/static/console", live.static_files(), name="console-static")

    async def sign_in_first(request: Request, _: Exception) -> RedirectResponse:
        return sign_in_redirect(request)

    async def csrf_refused(request: Request, _: Exception) -> HTMLResponse:
        why = "This form is out of date or did not come from Klaxon. Go back, reload the page"
        return error_page(request, None, 403, "Form expired", f"{why} and try again.")

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(CsrfRefused, csrf_refused)

    # Signed page links, single sign-on, the Me page and the admin pages.
    for router in (links.router, oidc.router, me.router, admin.router):
        app.include_router(router)

    async def admins_only(request: Request, _: Exception) -> HTMLResponse:
        why = "This page is for Klaxon's admins. If you are one and opened Klaxon from a page's"
        why += " link, sign in with a code or single sign-on."
        return error_page(request, None, 403, "Admins only", why, template="denied.html")

    app.add_exception_handler(AdminOnly, admins_only)
