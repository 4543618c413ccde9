"""An incident's runbook: its worst alert's ``runbook_url`` annotation, else the
first runbook of the rules file whose matchers match the incident's labels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.schemas import RunbookPublic
from app.models import Incident, alerts_table
from app.rules import RulesFile
from app.rules.runbooks import find_runbook, incident_labels


async def worst_alert_annotations(session: AsyncSession, number: int) -> dict[str, str]:
    """The annotations of the incident's worst alert (the one a page describes)."""
    a = alerts_table.c
    row = (
        await session.execute(
            select(a.annotations)
            .where(a.incident_number == number)
            .order_by(a.severity, a.id)
            .limit(1)
        )
    ).first()
    return {str(k): str(v) for k, v in row.annotations.items()} if row is not None else {}


async def incident_runbook(
    session: AsyncSession, rules: RulesFile, incident: Incident
) -> RunbookPublic | None:
    assert incident.number is not None  # a stored incident's
    annotations = await worst_alert_annotations(session, incident.number)
    url = annotations.get("runbook_url", "").strip()
    if url:
        return RunbookPublic(source="annotation", url=url)
    found = find_runbook(rules, incident_labels(incident.labels, incident.service))
    if found is None:
        return None
    return RunbookPublic(source="rules", name=found.name, url=found.url, text=found.text)
