"""``/i/42?s=…``: the signed link of a page SMS (app/notify/links.py) opens
incident 42 signed in as the responder paged, for a short session.

A link that is malformed, tampered with, signed for another incident, signed
with an old secret or past its time opens nothing: the page says so and offers
the ordinary sign-in, which comes back to the incident. A responder deleted
since the page opens nothing either. The session is a link session
(app/console/access.py): no admin pages, no phone changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from app.console.access import LINK, begin_session, set_session_cookie
from app.console.web import PRE_COOKIE, error_page, redirect, runtime_of, viewer_of
from app.models import responders_table
from app.models.types import ID_MAX
from app.notify import links
from app.transaction import unit_of_work

router = APIRouter(include_in_schema=False)


@router.get("/i/{number}", response_class=HTMLResponse)
async def open_link(
    request: Request,
    number: Annotated[int, Path(ge=1, le=ID_MAX)],
    signed: Annotated[str, Query(alias="s", max_length=64)] = "",
) -> Response:
    runtime = runtime_of(request)
    settings, now = runtime.settings, runtime.clock.now()
    target = f"/incidents/{number}"
    verified = links.verify(settings, number, signed, now)
    if verified is not None:
        r = responders_table.c
        async with runtime.sessions() as session:
            exists = (
                await session.execute(select(r.id).where(r.id == verified.responder_id))
            ).scalar()
        if exists is None:
            verified = None
    if verified is None:
        return error_page(
            request,
            None,
            403,
            "This link no longer opens the incident",
            "Links in pages expire, and work only for the person paged. Sign in to open it.",
            template="denied.html",
            action=f"/signin?next={quote(target, safe='')}",
            action_text="Sign in",
        )
    viewer = await viewer_of(request)
    if viewer is not None and viewer.responder_id == verified.responder_id:
        return redirect(target)  # signed in already as this responder: keep that session
    lasts = timedelta(minutes=settings.console_link_session_minutes)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        secret = await begin_session(
            session, settings, verified.responder_id, now, via=LINK, lasts=lasts
        )
    response = redirect(target)
    set_session_cookie(request, response, secret, lasts.total_seconds())
    response.delete_cookie(PRE_COOKIE, path="/")
    return response
