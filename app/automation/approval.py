"""Approved runbooks: a page may offer an action, and the responder it paged
replies ``42X`` to run it.

What a page offers is decided when the step fires: the step's ``offer:``, else
the ``action:`` of the rules file's runbook that matches the incident (as the
runbook link on the page is found). It is kept on the step's ``escalated``
timeline row, so the page's text, its call and the reply all read the same
decision, whatever the policy or rules file says by the time the reply comes.

Who may approve is narrower than who may acknowledge: only a responder paged for
the incident by a page that offered the action. Running a runbook acts on
production; the person who approves it is one who was told about the incident
and shown that action. Anyone else is refused and nothing is queued.

An approval queues the action through the same signed outbound path as an action
step, under a key of its own (``klaxon-42-restart-payments-approved``): one run
per incident, however many replies or replicas. The request names the approver
(``reply_to``), and the outbound queue texts them the executor's answer
(app/notify/outbound.py). Replays of the reply itself are dropped with every
other Twilio callback (app/replies/replays.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.automation.actions import Queued, action_key, queue_action
from app.models import incidents_table, timeline_table
from app.rules import RulesFile
from app.rules.runbooks import find_runbook, incident_labels
from app.timeline import event_row, record

#: The key of the offered action in an ``escalated`` timeline row's data.
OFFER = "offer"


def approved_key(number: int, action: str) -> str:
    return action_key(number, action) + "-approved"


def offer_for(rules: RulesFile, step_offer: str | None, incident: Any) -> str | None:
    """The action a page offers: the step's, else the matching runbook's; None
    when neither names one, or the action is not (or no longer) in the rules."""
    name = step_offer
    if name is None:
        runbook = find_runbook(rules, incident_labels(incident.labels, incident.service))
        name = runbook.action if runbook is not None else None
    return name if name is not None and rules.action(name) is not None else None


async def offered(session: AsyncSession, number: int, responder: str | None = None) -> str | None:
    """The action the incident's latest page (to ``responder``, when named) offered."""
    t = timeline_table.c
    rows = await session.execute(
        select(t.data)
        .where(t.incident_number == number, t.kind == "escalated")
        .order_by(t.id.desc())
    )
    for (data,) in rows:
        found = dict(data or {})
        if responder is not None and responder not in found.get("responders", []):
            continue
        name = found.get(OFFER)
        return str(name) if name else None
    return None


async def approve(
    session: AsyncSession,
    rules: RulesFile,
    number: int,
    by: Any,
    *,
    via: str,
    now: datetime,
) -> str:
    """Run the action offered to ``by`` (a responder row) for incident ``number``;
    the answer to text back. The approval, or a refusal, goes on the timeline."""
    incident = (
        await session.execute(select(incidents_table).where(incidents_table.c.number == number))
    ).first()
    if incident is None:
        return f"No incident #{number}"
    name = await offered(session, number, by.name)
    if name is None:
        refused = event_row(
            number,
            "action_refused",
            f"{by.name} asked via {via} to run the offered action: refused, no page to"
            f" {by.name} for #{number} offered one",
            at=now,
            actor=by.name,
        )
        await record(session, [refused])
        return f"#{number}: no action was offered to you for it; nothing run"
    if incident.status == "resolved":
        return f"#{number} is already resolved; {name} not run"
    action = rules.action(name)
    if action is None:
        return f"#{number}: action {name} is no longer in the rules file; not run"
    reply_to = {"name": by.name, "id": by.id, "phone": by.phone}
    queued = await queue_action(
        session, action, incident, now=now, key=approved_key(number, name), reply_to=reply_to
    )
    if queued is Queued.ALREADY:
        return f"#{number}: {name} was already approved; not run again"
    row = event_row(
        number,
        "action_approved",
        f"Action {name} approved by {by.name} via {via}: running it",
        at=now,
        actor=by.name,
        data={"action": name, "via": via},
    )
    await record(session, [row])
    return f"#{number}: running {name}; the result follows by text"
