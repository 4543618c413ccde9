"""Console pages outside the incidents: sign in and out, and who is on call now."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.console import signin
from app.console.access import SignedIn
from app.console.schedules import MY_SHIFTS_DAYS, my_shifts
from app.console.web import (
    PRE_COOKIE,
    SESSION_COOKIE,
    client_address,
    first,
    form_of,
    redirect,
    render,
    runtime_of,
    set_cookie,
    viewer_of,
)
from app.oncall import store
from app.oncall.schemas import normalize_phone
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)
NextQuery = Annotated[str, Query(alias="next", description="where to go once signed in")]


def _limits(request: Request, which: str) -> signin.AddressLimits:
    """The app's per-address limits (``ask``: codes asked for; ``try``: codes tried)."""
    limits: dict[str, signin.AddressLimits] = request.app.state.console_limits
    return limits[which]


def _next(value: str) -> str:
    """Where to go after signing in: a path of ours, never another site."""
    return value if value.startswith("/") and not value.startswith("//") else "/"


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, target: NextQuery = "/") -> Response:
    if await viewer_of(request) is not None:
        return redirect(_next(target))
    sso = runtime_of(request).settings.console_oidc_configured  # app/console/oidc.py
    return render(
        request, "signin.html", viewer=None, next=_next(target), error=None, phone="", sso=sso
    )


def _too_many(request: Request, template: str, wait: int, **context: Any) -> HTMLResponse:
    minutes = max(wait // 60, 1)
    error = f"Too many tries. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
    return render(request, template, viewer=None, status_code=429, error=error, **context)


@router.post("/signin", response_class=HTMLResponse)
async def ask_for_code(request: Request) -> Response:
    """Send a code to a responder's phone; the same answer for any number."""
    fields = await form_of(request, None)
    runtime = runtime_of(request)
    raw, target = first(fields, "phone"), _next(first(fields, "next") or "/")
    try:
        phone = normalize_phone(raw)
    except ValueError:
        error = "That is not a phone number: type it with its country code, e.g. +15551230001."
        return render(
            request,
            "signin.html",
            viewer=None,
            status_code=422,
            error=error,
            phone=raw[:40],
            next=target,
        )
    now = runtime.clock.now()
    settings = runtime.settings
    wait = _limits(request, "ask").take(
        client_address(request), settings.console_codes_per_address, now
    )
    if wait is None:
        async with unit_of_work(runtime) as uow:
            session = uow.session
            wait = (await signin.ask_for_code(session, settings, phone, now)).wait
            if wait is None:
                uow.wake()  # the code goes out now
    if wait is not None:
        return _too_many(request, "signin.html", wait, phone=phone, next=target)
    return redirect(f"/signin/code?phone={quote(phone)}&next={quote(target, safe='')}")


@router.get("/signin/code", response_class=HTMLResponse)
async def code_page(request: Request, phone: str = "", target: NextQuery = "/") -> Response:
    return render(
        request, "code.html", viewer=None, phone=phone[:40], next=_next(target), error=None
    )


@router.post("/signin/code", response_class=HTMLResponse)
async def check_code(request: Request) -> Response:
    fields = await form_of(request, None)
    runtime = runtime_of(request)
    settings = runtime.settings
    phone, code, target = first(fields, "phone")[:40], first(fields, "code"), first(fields, "next")
    now = runtime.clock.now()
    context = {"phone": phone, "next": _next(target or "/")}
    # Each code has its own tries; this bounds guessing across many numbers.
    wait = _limits(request, "try").take(
        client_address(request), settings.console_codes_per_address * 5, now
    )
    if wait is not None:
        return _too_many(request, "code.html", wait, **context)
    secret = None
    async with unit_of_work(runtime) as uow:
        session = uow.session
        responder_id = await signin.check_code(session, settings, phone, code, now)
        if responder_id is not None:
            secret = await signin.start_session(session, settings, responder_id, now)
    if secret is None:
        error = "That code is wrong or has expired. Check the SMS, or ask for a new code."
        return render(request, "code.html", viewer=None, status_code=422, error=error, **context)
    response = redirect(context["next"])
    set_cookie(
        response, runtime, SESSION_COOKIE, secret, int(settings.console_session_hours * 3600)
    )
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/signout")
async def sign_out(request: Request, viewer: SignedIn) -> RedirectResponse:
    await form_of(request, viewer)
    runtime = runtime_of(request)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        await signin.end_session(session, viewer.session_secret)
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def _oncall_rows(request: Request, now: datetime) -> list[dict[str, Any]]:
    """Each schedule's responder now, until when, and who comes next."""
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        current = await store.oncall_everywhere(session, now)
        handoffs = sorted({o.until for o in current.values() if o.until is not None})
        after: dict[tuple[str, datetime], str | None] = {}
        for at in handoffs:
            names = [name for name, o in current.items() if o.until == at]
            for name, then in (await store.oncall_now(session, names, at)).items():
                after[(name, at)] = then.responder
    return [
        {
            "schedule": name,
            "now": o.responder,
            "until": o.until,
            "next": after.get((name, o.until)) if o.until is not None else None,
        }
        for name, o in current.items()
    ]


@router.get("/oncall", response_class=HTMLResponse)
async def oncall_page(request: Request, viewer: SignedIn) -> Response:
    now = runtime_of(request).clock.now()
    rows = await _oncall_rows(request, now)
    mine = await my_shifts(runtime_of(request), viewer.name, now)  # app/console/schedules.py
    return render(
        request,
        "oncall.html",
        viewer=viewer,
        rows=rows,
        now=now,
        mine=mine,
        mine_days=MY_SHIFTS_DAYS,
    )
