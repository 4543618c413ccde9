"""Responders in the database: who can be paged, found by name, id or phone.

Core statements on ``responders``, inside the caller's transaction, never
committing. :func:`upsert_responder` is idempotent (writing what is stored
changes nothing, not even ``updated_at``) and keeps each phone and chat or
sign-in identity one responder's only (``Conflict`` names the holder).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, KlaxonError
from app.models import responders_table
from app.oncall.rows import Change, ResponderRow, quoted_names, upsert_named
from app.oncall.schemas import ResponderSpec


async def _one(session: AsyncSession, where: ColumnElement[bool]) -> ResponderRow | None:
    row = (await session.execute(select(responders_table).where(where))).first()
    return None if row is None else ResponderRow.of(row)


async def get_responder(session: AsyncSession, name: str) -> ResponderRow | None:
    return await _one(session, responders_table.c.name == name)


async def get_responder_by_id(session: AsyncSession, responder_id: int) -> ResponderRow | None:
    return await _one(session, responders_table.c.id == responder_id)


async def get_responder_by_phone(session: AsyncSession, phone: str) -> ResponderRow | None:
    """The responder with this E.164 number (how an inbound SMS finds its sender)."""
    return await _one(session, responders_table.c.phone == phone)


async def get_responders_by_name(
    session: AsyncSession, names: Iterable[str]
) -> dict[str, ResponderRow]:
    """The responders among ``names`` that exist, by name."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    r = responders_table.c
    rows = await session.execute(select(responders_table).where(r.name.in_(wanted)))
    return {row.name: ResponderRow.of(row) for row in rows}


async def list_responders(session: AsyncSession) -> list[ResponderRow]:
    r = responders_table.c
    rows = await session.execute(select(responders_table).order_by(r.name))
    return [ResponderRow.of(row) for row in rows]


async def upsert_responder(session: AsyncSession, spec: ResponderSpec, *, now: datetime) -> Change:
    r = responders_table.c
    # A phone, and each identity (Slack, e-mail, Mattermost), is one responder's only.
    identities = {
        "phone": spec.phone,
        "slack_user_id": spec.slack_user_id,
        "email": spec.email,
        "mattermost_user_id": spec.mattermost_user_id,
    }
    for column, identity in identities.items():
        if identity is None:
            continue
        holder = (
            await session.execute(select(r.name).where(r[column] == identity, r.name != spec.name))
        ).first()
        if holder is not None:
            raise Conflict(f"{column} {identity} already belongs to responder {holder.name!r}")
    existing = await get_responder(session, spec.name)
    # ``admin`` left out (None) keeps what is stored (false for a new responder).
    values: dict[str, Any] = {
        "phone": spec.phone,
        "time_zone": spec.time_zone,
        "slack_user_id": spec.slack_user_id,
        "mattermost_user_id": spec.mattermost_user_id,
        "email": spec.email,
    }
    if spec.admin is not None:
        values["admin"] = spec.admin
    return await upsert_named(session, responders_table, spec.name, existing, values, now=now)


async def require_responders(session: AsyncSession, names: Iterable[str], where: str) -> None:
    wanted = set(names)
    missing = wanted - set(await get_responders_by_name(session, wanted))
    if missing:
        raise KlaxonError(f"{where}: unknown responder {quoted_names(missing)}")
