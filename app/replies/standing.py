"""Who may acknowledge or resolve an incident from a phone.

Any responder may, by default: people cover for each other, and the timeline
names one who was not paged for the incident. A policy with ``ack: paged-only``
lets only those it paged for the incident act on it from a phone; everyone else
is told so and nothing changes. API tokens are not responders and are not
asked (app/incidents/endpoints.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation.store import get_policy
from app.models import incidents_table, notifications_table


@dataclass(frozen=True)
class Standing:
    paged: bool
    refused_by: str | None  # the policy whose rule refuses, when it refuses


async def _paged(session: AsyncSession, number: int, responder_id: int) -> bool:
    n = notifications_table.c
    found = await session.execute(
        select(n.id)
        .where(n.incident_number == number, n.kind == "page", n.responder_id == responder_id)
        .limit(1)
    )
    return found.first() is not None


async def standing(session: AsyncSession, number: int, responder_id: int) -> Standing:
    """Whether the responder was paged for incident ``number``, and if not, the
    policy that keeps them from acting on it (None when it lets anyone)."""
    if await _paged(session, number, responder_id):
        return Standing(paged=True, refused_by=None)
    name = (
        await session.execute(
            select(incidents_table.c.policy).where(incidents_table.c.number == number)
        )
    ).scalar()
    # The policy that pages it: its route's, else default (as the engine does).
    policy = await get_policy(session, name or "default")
    if policy is None and name not in (None, "default"):
        policy = await get_policy(session, "default")
    if policy is not None and policy.ack == "paged-only":
        return Standing(paged=False, refused_by=policy.name)
    return Standing(paged=False, refused_by=None)


def refusal(number: int, policy: str) -> str:
    return (
        f"#{number} unchanged: escalation policy {policy} lets only responders paged for it"
        " acknowledge or resolve it"
    )
