"""Following the status page: public routes under ``/status/api/v2/subscribers``
(so ``KLAXON_STATUS_HOST`` serves them), and the admin's list and removal.

Subscribing needs no token, as reading the page does not; what protects it is
in app/statuspage/subscribers.py (double opt-in, limits, the URL rule). Listing
and removing subscribers is ``admin``: the list holds members of the public's
phone numbers and URLs (shown masked even then), which is neither incident
work (``write``) nor who gets paged (``config``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from app.deps import AdminPrincipal, RowId, RuntimeDep, SessionDep, Transaction
from app.errors import NotFound
from app.models import status_subscribers_table
from app.oncall.schemas import normalize_phone
from app.phones import mask_phone
from app.statuspage import subscribers
from app.statuspage.deliver import unsubscribe_url

router = APIRouter(prefix="/status/api/v2/subscribers", tags=["status page (public)"])
admin_router = APIRouter(prefix="/api/v1/status/subscribers", tags=["status page"])
ComponentIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=40)]],
    Field(
        default_factory=list,
        max_length=200,
        description="Component ids from components.json; none: the whole page",
    ),
]
Token = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class SmsSubscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Annotated[
        str,
        Field(max_length=40, examples=["+15551230001"], description="E.164: + and country code"),
        AfterValidator(normalize_phone),
    ]
    components: ComponentIds


class WebhookSubscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/status"])
    components: ComponentIds


class SmsPending(BaseModel):
    detail: str


class WebhookSubscription(BaseModel):
    id: int
    url: str
    components: list[str]
    secret: str = Field(description="Verifies each delivery (Standard Webhooks); shown once")
    unsubscribe: str = Field(description="DELETE this URL to unsubscribe; shown once")


class SubscriberPublic(BaseModel):
    id: int
    channel: str
    target: str = Field(description="The number or URL, masked")
    components: list[str]
    state: str
    created_at: datetime
    confirmed_at: datetime | None


_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is invalid, or names a component not on the page"},
    429: {"description": "Too many subscriptions within the hour, or too many in all"},
}


@router.post("/sms", status_code=202, response_model=SmsPending, responses=_REFUSED)
async def subscribe_sms(body: SmsSubscribe, tx: Transaction, runtime: RuntimeDep) -> SmsPending:
    """Subscribe a phone number: it gets a text asking it to reply YES (and
    nothing until it does); STOP unsubscribes. The answer is the same whether
    the number was new or already subscribed."""
    await subscribers.subscribe_sms(
        tx.session,
        runtime.rules.current.status_page,
        runtime.settings,
        phone=body.phone,
        components=body.components,
        now=runtime.clock.now(),
    )
    tx.wake()
    return SmsPending(detail="If this number is not subscribed yet, reply YES to the text it gets.")


@router.post(
    "/webhook",
    status_code=201,
    response_model=WebhookSubscription,
    responses={**_REFUSED, 409: {"description": "The URL is already subscribed"}},
)
async def subscribe_webhook(
    body: WebhookSubscribe, tx: Transaction, runtime: RuntimeDep
) -> WebhookSubscription:
    """Subscribe a URL (https, on a public address) to the page's incident and
    component updates, in Statuspage's webhook shapes, signed with the secret
    answered here."""
    made = await subscribers.subscribe_webhook(
        tx.session,
        runtime.rules.current.status_page,
        runtime.settings,
        url=body.url,
        components=body.components,
        now=runtime.clock.now(),
    )
    return WebhookSubscription(
        id=made.id,
        url=body.url,
        components=sorted(set(body.components)),
        secret=made.secret,
        unsubscribe=unsubscribe_url(runtime, made.token),
    )


@router.delete(
    "/{token}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "No subscription has this token"}},
)
async def unsubscribe(token: Token, tx: Transaction) -> Response:
    """Unsubscribe the webhook this token was given to."""
    if not await subscribers.unsubscribe(tx.session, token):
        raise NotFound("no subscription has this token")
    return Response(status_code=204)


def _masked(channel: str, target: str) -> str:
    if channel == "sms":
        return mask_phone(target)
    head, _, _ = target.partition("//")
    host = target.split("/")[2] if target.count("/") >= 2 else ""
    return f"{head}//{host}/…"


@admin_router.get("", response_model=list[SubscriberPublic])
async def list_subscribers(session: SessionDep, _: AdminPrincipal) -> list[SubscriberPublic]:
    """Every subscriber, numbers and URLs masked."""
    s = status_subscribers_table.c
    rows = (await session.execute(select(status_subscribers_table).order_by(s.id))).all()
    return [
        SubscriberPublic(
            id=row.id,
            channel=row.channel,
            target=_masked(row.channel, row.target),
            components=list(row.components),
            state=row.state,
            created_at=row.created_at,
            confirmed_at=row.confirmed_at,
        )
        for row in rows
    ]


@admin_router.delete(
    "/{subscriber_id}",
    status_code=204,
    response_class=Response,
    responses={404: {"description": "No such subscriber"}},
)
async def remove_subscriber(subscriber_id: RowId, tx: Transaction, _: AdminPrincipal) -> Response:
    """Remove a subscriber (its row is deleted)."""
    s = status_subscribers_table.c
    result = await tx.session.execute(delete(status_subscribers_table).where(s.id == subscriber_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"no status page subscriber {subscriber_id}")
    return Response(status_code=204)
