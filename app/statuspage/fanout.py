"""Telling the subscribers: each publication and public update queues one SMS
per confirmed number and, per webhook, an ``incident`` message and a
``component_update`` message for each component whose status on the page
changed, in Atlassian Statuspage's webhook shapes (``meta``, ``page``, then
``incident`` or ``component_update`` with ``component``).

Everything is written in the transaction that published, so it goes out if
and only if that commits. SMS go through the outbox as notices (kind
``status``): the throttle lets every page go first and makes notices wait,
and the dispatcher claims pages before notices, so a thousand subscribers
never delay a page. Webhooks go through the outbound queue (kind
``status_webhook``), keyed by update and subscriber, so a retried publication
queues each message once. A subscriber follows the components it named (an
SMS or incident message when the incident holds one of them; a component
message for those), or the whole page when it named none.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import public_components_table, public_incidents_table, public_updates_table
from app.notify import outbound, outbox
from app.rules.status_page import StatusPageConfig
from app.statuspage import subscribers, v2
from app.statuspage.summary import (
    IncidentView,
    Summary,
    build_summary,
    incident_view,
    public_id,
)
from app.statuspage.words import LABELS, worst

WEBHOOK_KIND = "status_webhook"
#: A receiver down for longer than this misses the update (the page has it).
DELIVERY_DEADLINE = timedelta(hours=6)
DOCUMENTATION = "https://github.com/klaxon/klaxon#status-page-subscriptions"


async def page_statuses(session: AsyncSession, page: StatusPageConfig) -> dict[str, str]:
    """Each page component's status now (service → status): the worst of the
    unresolved public incidents holding it."""
    c, i = public_components_table.c, public_incidents_table.c
    rows = await session.execute(
        select(c.service, c.status)
        .join(public_incidents_table, i.incident_number == c.incident_number)
        .where(i.status != "resolved")
    )
    held: dict[str, list[str]] = {}
    for row in rows:
        held.setdefault(row.service, []).append(row.status)
    return {comp.service: worst(held.get(comp.service, [])) for comp in page.components}


def _page(summary: Summary) -> dict[str, Any]:
    return {
        "id": summary.page_id,
        "status_indicator": summary.indicator,
        "status_description": summary.description,
    }


def _incident_payload(
    summary: Summary, incident: IncidentView, changed: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """Statuspage's ``incident`` webhook: the incident as incidents.json has it,
    the latest update (first) naming the components it changed."""
    body = v2.incident(summary, incident)
    names = {c.id: c.name for c in summary.components}
    if body["incident_updates"]:
        body["incident_updates"][0]["affected_components"] = [
            {"code": cid, "name": names[cid], "old_status": old, "new_status": new}
            for cid, (old, new) in changed.items()
        ]
    return {"page": _page(summary), "incident": body}


def _component_payload(
    summary: Summary, component_id: str, old: str, new: str, update_id: str, now: datetime
) -> dict[str, Any]:
    component = next(c for c in summary.components if c.id == component_id)
    return {
        "page": _page(summary),
        "component_update": {
            "created_at": v2.at(now),
            "new_status": new,
            "old_status": old,
            "id": public_id("component_update", f"{update_id}:{component_id}"),
            "component_id": component_id,
        },
        "component": {
            "created_at": v2.at(component.created_at),
            "id": component_id,
            "name": component.name,
            "status": new,
        },
    }


def sms_text(summary: Summary, incident: IncidentView) -> str:
    latest = incident.updates[0]
    return subscribers.sms_body(
        f"{summary.page_name}: {incident.name} - {LABELS[latest.status]}: {latest.body}"
    )


async def fan_out(
    session: AsyncSession,
    page: StatusPageConfig,
    number: int,
    before: Mapping[str, str],
    *,
    now: datetime,
) -> int:
    """Queue what the subscribers hear of incident ``number``'s latest public
    update; ``before`` is :func:`page_statuses` from before the change. Returns
    how many messages were queued."""
    following = await subscribers.active(session)
    if not following:
        return 0
    latest = (
        await session.execute(
            select(public_updates_table.c.public_id)
            .where(public_updates_table.c.incident_number == number)
            .order_by(public_updates_table.c.id.desc())
            .limit(1)
        )
    ).scalar_one()
    summary = await build_summary(session, page, now=now, first_seen={})
    incident = await incident_view(session, page, number)
    after = {c.id: c.status for c in summary.components}
    ids = subscribers.component_ids(page)
    changed = {
        cid: (before[service], after[cid])
        for cid, service in ids.items()
        if service in before and before[service] != after[cid]
    }
    held = {a.id for a in incident.components}
    # The same for every subscriber: built once, not once per subscriber.
    text = sms_text(summary, incident)
    incident_message = _incident_payload(summary, incident, changed)
    component_messages = {
        cid: _component_payload(summary, cid, old, new, latest, now)
        for cid, (old, new) in changed.items()
    }
    texts: list[outbox.Outgoing] = []
    queued = 0
    for row in following:
        if row.channel == "sms":
            if subscribers.follows(row, held):
                texts.append(
                    outbox.Outgoing(
                        kind=subscribers.SMS_KIND,
                        channel="sms",
                        to_number=row.target,
                        responder_name=subscribers.SUBSCRIBER_NAME,
                        body=text,
                    )
                )
            continue
        messages: list[tuple[str, dict[str, Any]]] = []
        if subscribers.follows(row, held):
            messages.append((latest, incident_message))
        for cid, payload in component_messages.items():
            if subscribers.follows(row, {cid}):
                messages.append((f"{latest}:{cid}", payload))
        for key, payload in messages:
            queued += await outbound.enqueue(
                session,
                WEBHOOK_KIND,
                {"subscriber": row.id, "message_id": f"status-{key}", "body": payload},
                key=f"{key}:{row.id}",
                now=now,
                deadline=now + DELIVERY_DEADLINE,
            )
    return queued + await outbox.enqueue(session, texts, now)
