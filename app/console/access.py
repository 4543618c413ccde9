"""Who may do what in the console beyond reading incidents: sessions begun other
than by an SMS code, and the admin pages.

* A session begins by an SMS code (app/console/signin.py), by single sign-on
  (app/console/oidc.py) or by a page's signed link (app/console/links.py). The
  way is kept on the session (``via``). A link session is short (30 minutes by
  default) and is for answering that page: it may not open the admin pages nor
  change the responder's phone, because a link can be forwarded or read off a
  locked screen, and the page it came in must not be a key to more than itself.
* Admins are responders marked ``admin`` (``klaxon apply`` with ``admin: true``,
  ``klaxon admin grant NAME``, or the API with an ``admin``-scope token).
  The admin pages answer anyone else with a 403 page, never the content.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import signin
from app.console.web import SESSION_COOKIE, Viewer, runtime_of, set_cookie, signed_in
from app.models import console_sessions_table, responders_table
from app.settings import Settings

LINK, CODE, OIDC = "link", "code", "oidc"


class AdminOnly(Exception):
    """A page of admins asked for by someone who is not one (or by a link session)."""


async def begin_session(
    session: AsyncSession,
    settings: Settings,
    responder_id: int,
    now: datetime,
    *,
    via: str,
    lasts: timedelta | None = None,
) -> str:
    """A new console session begun ``via`` a way of signing in; ``lasts`` shortens
    it (a link's). Returns the secret for its cookie."""
    secret = await signin.start_session(session, settings, responder_id, now)
    values: dict[str, object] = {"via": via}
    if lasts is not None:
        values["expires_at"] = now + lasts
    s = console_sessions_table.c
    await session.execute(
        update(console_sessions_table)
        .where(s.secret_hash == signin.hash_secret(secret))
        .values(**values)
    )
    return secret


def set_session_cookie(request: Request, response: Response, secret: str, seconds: float) -> None:
    set_cookie(response, runtime_of(request), SESSION_COOKIE, secret, max(int(seconds), 1))


async def session_via(request: Request, viewer: Viewer) -> tuple[str, bool]:
    """How the viewer's session began, and whether they are an admin."""
    s, r = console_sessions_table.c, responders_table.c
    async with runtime_of(request).sessions() as session:
        row = (
            await session.execute(
                select(s.via, r.admin)
                .join(responders_table, r.id == s.responder_id)
                .where(s.secret_hash == signin.hash_secret(viewer.session_secret))
            )
        ).first()
    return (str(row.via), bool(row.admin)) if row is not None else (LINK, False)


async def is_admin(request: Request, viewer: Viewer) -> bool:
    """Whether the viewer may use the admin pages in this session."""
    via, admin = await session_via(request, viewer)
    return admin and via != LINK


async def admin_viewer(request: Request, viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    """The dependency of every admin page: an admin, not in a link session."""
    if not await is_admin(request, viewer):
        raise AdminOnly
    return viewer


SignedIn = Annotated[Viewer, Depends(signed_in)]
AdminViewer = Annotated[Viewer, Depends(admin_viewer)]
