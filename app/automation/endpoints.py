"""``/api/v1/webhooks/subscriptions``: outgoing webhooks added without editing the
rules file. Admin scope: a subscription sends incident data out of Klaxon. The
URL must be on the rules file's ``automation.allowed_hosts``, as for the file's
own webhooks, so a token cannot point Klaxon at a host nobody allowed."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, insert, select

from app.deps import AdminPrincipal, RowId, RuntimeDep, SessionDep, Transaction
from app.errors import KlaxonError, NotFound
from app.models import webhook_subscriptions_table
from app.rules.actions import WEBHOOK_EVENTS, http_url, known_events

router = APIRouter(prefix="/api/v1/webhooks/subscriptions", tags=["automation"])


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http(s), on automation.allowed_hosts")
    events: list[str] = Field(
        min_length=1, max_length=len(WEBHOOK_EVENTS), description=", ".join(WEBHOOK_EVENTS)
    )

    _url = field_validator("url")(http_url)
    _events = field_validator("events")(known_events)


class SubscriptionPublic(BaseModel):
    id: int | None = Field(description="None for a webhook of the rules file")
    url: str
    events: list[str]
    source: str = Field(description="api or rules")
    created_by: str | None = None
    created_at: datetime | None = None


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionPublic,
    responses={400: {"description": "The URL's host is not on automation.allowed_hosts"}},
)
async def subscribe(
    body: SubscriptionCreate, tx: Transaction, runtime: RuntimeDep, principal: AdminPrincipal
) -> SubscriptionPublic:
    """Subscribe a URL to incident events, signed with KLAXON_AUTOMATION_SECRET."""
    automation = runtime.rules.current.automation
    if not automation.allows(body.url):
        raise KlaxonError(f"url: host of {body.url!r} is not in automation.allowed_hosts")
    now = runtime.clock.now()
    created = await tx.session.execute(
        insert(webhook_subscriptions_table)
        .values(url=body.url, events=body.events, created_by=principal.name, created_at=now)
        .returning(webhook_subscriptions_table.c.id)
    )
    number = created.scalar_one()
    return SubscriptionPublic(
        id=number,
        url=body.url,
        events=body.events,
        source="api",
        created_by=principal.name,
        created_at=now,
    )


@router.get("", response_model=list[SubscriptionPublic])
async def list_subscriptions(
    session: SessionDep, runtime: RuntimeDep, _: AdminPrincipal
) -> list[SubscriptionPublic]:
    """The rules file's webhooks, then those added here."""
    found = [
        SubscriptionPublic(id=None, url=hook.url, events=hook.events, source="rules")
        for hook in runtime.rules.current.webhooks
    ]
    w = webhook_subscriptions_table.c
    for row in await session.execute(select(webhook_subscriptions_table).order_by(w.id)):
        found.append(
            SubscriptionPublic(
                id=row.id,
                url=row.url,
                events=list(row.events),
                source="api",
                created_by=row.created_by,
                created_at=row.created_at,
            )
        )
    return found


@router.delete(
    "/{subscription_id}", status_code=204, responses={404: {"description": "No such subscription"}}
)
async def unsubscribe(subscription_id: RowId, tx: Transaction, _: AdminPrincipal) -> Response:
    """Stop sending to a subscription; what is queued for it still goes."""
    w = webhook_subscriptions_table.c
    removed = await tx.session.execute(
        delete(webhook_subscriptions_table).where(w.id == subscription_id).returning(w.id)
    )
    if removed.first() is None:
        raise NotFound(f"No webhook subscription {subscription_id}")
    return Response(status_code=204)
