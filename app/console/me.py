"""``/me``: the signed-in responder's own page: their phone (changed only by
proving the new one with a code sent to it), a test page, the link to their
calendar (``/me/calendar``) and their open action items.

Why a responder may change their own phone here, though changing who gets
paged is otherwise an admin's (``config``) power: the change moves only their
own pages, and only to a phone they have just shown they hold (the code went
to it). What stays out of reach:

* another responder's phone: the form changes the signed-in responder's only,
  and a number that is someone else's is refused (numbers are unique, and an
  inbound SMS is matched to its sender by it);
* a phone nobody answers: the new number must return the code first, so a typo
  cannot silently send the pages nowhere;
* a forwarded page: a link session (app/console/access.py) may not change it;
* a quiet takeover: the old number is told by SMS that the pages moved, so a
  stolen session that changes the phone is noticed by its owner.

Codes reuse the sign-in codes' table and rules (app/console/signin.py): scrypt
hash, minutes of validity, tries, per-number and per-address limits.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import signin
from app.console.access import LINK, SignedIn, session_via
from app.console.web import (
    Viewer,
    client_address,
    first,
    form_of,
    redirect,
    render,
    runtime_of,
)
from app.models import action_items_table, console_codes_table, responders_table
from app.notify import outbox
from app.notify.outbox import Outgoing
from app.oncall.schemas import normalize_phone
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

NOTICES = {
    "test-sent": "A test page is on its way to your phone.",
    "phone-changed": "Your phone is changed: pages now go to the new number.",
    "code-sent": "A code is on its way to the new number.",
}


def verify_text(code: str, minutes: float) -> str:
    return (
        f"Klaxon code to make this your paging phone: {code}. It expires in {minutes:g}"
        " minutes. Never share it."
    )


def moved_text(name: str, phone: str) -> str:
    return (
        f"[Klaxon] Pages for {name} now go to {phone}, changed in the console. If that was"
        " not you, tell an admin now."
    )


def test_text(name: str) -> str:
    return f"[Klaxon] Test page for {name}: pages reach this phone. No reply needed."


async def _text(
    session: AsyncSession, viewer: Viewer, kind: str, to: str, body: str, now: datetime
) -> None:
    """An SMS to the viewer (at ``to``) through the outbox, in this transaction."""
    item = Outgoing(
        kind=kind,
        channel="sms",
        to_number=to,
        responder_name=viewer.name,
        responder_id=viewer.responder_id,
        body=body,
    )
    await outbox.enqueue(session, [item], now)


async def _me(session: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    r, a = responders_table.c, action_items_table.c
    row = (
        await session.execute(select(r.phone, r.email, r.admin).where(r.id == viewer.responder_id))
    ).one()
    items = await session.execute(
        select(a.id, a.incident_number, a.task, a.due)
        .where(a.owner == viewer.name, a.status == "open")
        .order_by(a.due, a.id)
        .limit(200)
    )
    return {"me": row, "items": [dict(i._mapping) for i in items]}


async def _page(
    request: Request, viewer: Viewer, status_code: int = 200, **context: Any
) -> HTMLResponse:
    runtime = runtime_of(request)
    async with runtime.sessions() as session:
        mine = await _me(session, viewer)
    via, _ = await session_via(request, viewer)
    context.setdefault("error", None)
    context.setdefault("phone", "")
    return render(
        request,
        "me.html",
        viewer=viewer,
        status_code=status_code,
        link_session=via == LINK,
        **mine,
        **context,
    )


@router.get("/me", response_class=HTMLResponse)
async def me_page(request: Request, viewer: SignedIn, notice: str = "") -> Response:
    return await _page(request, viewer, notice=NOTICES.get(notice))


@router.post("/me/test-page")
async def send_test_page(request: Request, viewer: SignedIn) -> Response:
    """A test SMS to the viewer's phone, through the outbox like any page (a
    notice: it yields to pages when the number is busy)."""
    await form_of(request, viewer)
    runtime = runtime_of(request)
    r = responders_table.c
    async with unit_of_work(runtime) as uow:
        session = uow.session
        phone = (
            await session.execute(select(r.phone).where(r.id == viewer.responder_id))
        ).scalar_one()
        await _text(session, viewer, "test", phone, test_text(viewer.name), runtime.clock.now())
        uow.wake()
    return redirect("/me?notice=test-sent")


async def _phone_form(request: Request, viewer: Viewer) -> dict[str, list[str]] | HTMLResponse:
    """The posted form of a phone change (CSRF checked), or the refusal of a link session."""
    fields = await form_of(request, viewer)
    via, _ = await session_via(request, viewer)
    if via != LINK:
        return fields
    error = "A page's link cannot change your phone: sign in with a code or single sign-on."
    return await _page(request, viewer, status_code=403, error=error)


@router.post("/me/phone")
async def ask_phone_code(request: Request, viewer: SignedIn) -> Response:
    """Send a code to the number the viewer wants pages to go to."""
    fields = await _phone_form(request, viewer)
    if isinstance(fields, Response):
        return fields
    raw = first(fields, "phone")
    try:
        phone = normalize_phone(raw)
    except ValueError:
        error = "That is not a phone number: type it with its country code, e.g. +15551230001."
        return await _page(request, viewer, status_code=422, error=error, phone=raw[:40])
    runtime = runtime_of(request)
    settings, now = runtime.settings, runtime.clock.now()
    r, c = responders_table.c, console_codes_table.c
    limits: dict[str, signin.AddressLimits] = request.app.state.console_limits
    wait = limits["ask"].take(client_address(request), settings.console_codes_per_address, now)
    refusal: tuple[int, str] | None = None
    async with unit_of_work(runtime) as uow:
        session = uow.session
        holder = (await session.execute(select(r.id).where(r.phone == phone))).scalar()
        asked = (
            await session.execute(
                select(func.count())
                .select_from(console_codes_table)
                .where(c.phone == phone, c.created_at > now - timedelta(hours=1))
            )
        ).scalar_one()
        if holder is not None:
            refusal = (409, "That is already your number.")
            if holder != viewer.responder_id:
                refusal = (409, "That number belongs to another responder.")
        elif wait is not None or asked >= settings.console_codes_per_number:
            refusal = (429, "Too many codes asked for. Try again in an hour.")
        else:
            code = signin.new_code()
            await session.execute(
                console_codes_table.insert().values(
                    phone=phone,
                    responder_id=viewer.responder_id,
                    code_hash=await signin.hash_code(code),
                    tries=0,
                    created_at=now,
                    expires_at=now + timedelta(minutes=settings.console_code_minutes),
                )
            )
            text = verify_text(code, settings.console_code_minutes)
            await _text(session, viewer, "code", phone, text, now)
            uow.wake()
    if refusal is not None:  # answered once the transaction is over (SQLite: one writer)
        status_code, error = refusal
        return await _page(request, viewer, status_code=status_code, error=error, phone=phone)
    return redirect(f"/me/phone?phone={quote(phone)}")


@router.get("/me/phone", response_class=HTMLResponse)
async def phone_code_page(request: Request, viewer: SignedIn, phone: str = "") -> Response:
    return render(request, "me_phone.html", viewer=viewer, phone=phone[:40], error=None)


async def _verified(
    session: AsyncSession, viewer: Viewer, phone: str, code: str, tries: int, now: datetime
) -> bool:
    """Whether ``code`` is the live code the viewer asked for ``phone``; each try
    uses one of its tries, and a right one is used up."""
    c = console_codes_table.c
    row = (
        await session.execute(
            select(c.id, c.code_hash)
            .where(
                c.phone == phone,
                c.responder_id == viewer.responder_id,
                c.used_at.is_(None),
                c.expires_at > now,
                c.tries < tries,
            )
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        return False
    await session.execute(
        update(console_codes_table).where(c.id == row.id).values(tries=c.tries + 1)
    )
    if not await signin.code_matches(code, row.code_hash):
        return False
    await session.execute(update(console_codes_table).where(c.id == row.id).values(used_at=now))
    await outbox.forget_codes(session, to_number=phone, before=now)
    return True


@router.post("/me/phone/verify")
async def verify_phone(request: Request, viewer: SignedIn) -> Response:
    """Make the verified number the viewer's phone, and tell the old one."""
    fields = await _phone_form(request, viewer)
    if isinstance(fields, Response):
        return fields
    runtime = runtime_of(request)
    settings, now = runtime.settings, runtime.clock.now()
    phone, code = first(fields, "phone")[:40], first(fields, "code")
    r = responders_table.c
    limits: dict[str, signin.AddressLimits] = request.app.state.console_limits
    wait = limits["try"].take(client_address(request), settings.console_codes_per_address * 5, now)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        ok = wait is None and await _verified(
            session, viewer, phone, code, settings.console_code_tries, now
        )
        taken = (await session.execute(select(r.id).where(r.phone == phone))).scalar()
        if ok and taken is None:
            old = (
                await session.execute(select(r.phone).where(r.id == viewer.responder_id))
            ).scalar_one()
            await session.execute(
                update(responders_table)
                .where(r.id == viewer.responder_id)
                .values(phone=phone, updated_at=now)
            )
            # Sent at once, like a code: the owner must learn of it now.
            await _text(session, viewer, "code", old, moved_text(viewer.name, phone), now)
            uow.wake()
    if not ok or taken is not None:
        error = (
            "That number belongs to another responder now."
            if ok
            else "That code is wrong or has expired. Check the SMS, or ask for a new code."
        )
        return render(
            request, "me_phone.html", viewer=viewer, status_code=422, phone=phone, error=error
        )
    log.info("responder %s changed their phone in the console (verified by code)", viewer.name)
    return redirect("/me?notice=phone-changed")
