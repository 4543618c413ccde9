"""What a page says, read from the incident when it is written (app/escalation/
steps.py), when a person asks for a responder (app/response/triage.py) and
when a page call rings (app/replies): the words, in app/notify/texts.py, are
the same for all three."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.maintenance import requested
from app.models import alerts_table
from app.notify.texts import PageInfo
from app.rules import RulesFile
from app.rules.runbooks import find_runbook, incident_labels


async def page_info(
    session: AsyncSession,
    incident: Any,
    rules: RulesFile | None = None,
    *,
    offer: str | None = None,
    alertmanager: bool = False,
) -> PageInfo:
    """What a page says: the incident's current title (a commander's retitle
    included), and from its worst firing alert the description (else summary)
    and runbook URL, else the rules file's runbook (a URL or a text). With
    ``alertmanager`` (Klaxon has Alertmanager URLs) it offers ``42S1h`` for an
    incident with a firing alert from Alertmanager."""
    a = alerts_table.c
    alert = (
        await session.execute(
            select(a.annotations)
            .where(a.incident_number == incident.number)
            .order_by(a.severity, a.id)
            .limit(1)
        )
    ).first()
    annotations: dict[str, str] = dict(alert.annotations) if alert is not None else {}
    title = str(incident.title)
    summary = annotations.get("description") or annotations.get("summary")
    if summary == title:
        summary = None
    runbook_url = annotations.get("runbook_url") or None
    runbook_text = None
    if runbook_url is None and rules is not None:
        found = find_runbook(rules, incident_labels(incident.labels, incident.service))
        if found is not None:
            runbook_url, runbook_text = found.url, found.text
    return PageInfo(
        number=incident.number,
        severity=incident.severity,
        title=title,
        service=incident.service,
        summary=summary,
        runbook_url=runbook_url,
        runbook_text=runbook_text,
        offer=offer,
        offer_silence=alertmanager and await requested.from_alertmanager(session, incident.number),
    )
