"""Incidents people report: a customer report, a failing synthetic check someone saw.

A report is routed like an alert whose only label is ``service``: the first
route that matches names the service and the escalation policy. Paging starts
in the caller's transaction (``begin_paging``), so the first step is committed
with the incident; the caller wakes the worker after its commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.escalation.paging import begin_paging
from app.models import incidents_table
from app.response import update_clock
from app.response.schemas import IncidentReport
from app.results import Opened
from app.rules import RulesFile, route
from app.timeline import event_row, record

#: Group keys of reported incidents; no alert ever has one, so no alert joins them.
REPORT_GROUP_PREFIX = "report:"


async def open_reported_incident(
    session: AsyncSession, rules: RulesFile, report: IncidentReport, *, by: str, now: datetime
) -> int:
    """Open, route and start paging a reported incident; returns its number."""
    labels = {"service": report.service}
    routing = route(rules, labels)
    number: int = (
        await session.execute(
            insert(incidents_table)
            .values(
                title=report.title,
                status="triggered",
                severity=report.severity,
                service=routing.service,
                policy=routing.policy,
                group_key=REPORT_GROUP_PREFIX + uuid.uuid4().hex,
                labels=labels,
                alert_count=0,
                firing_count=0,
                created_at=now,
                updated_at=now,
                description=report.description,
            )
            .returning(incidents_table.c.number)
        )
    ).scalar_one()
    await record(
        session,
        [
            event_row(
                number,
                "triggered",
                f"Incident reported: {report.title} ({report.severity}, service {routing.service})",
                at=now,
                actor=by,
                data={"severity": report.severity, "origin": "report"},
            )
        ],
    )
    await begin_paging(
        session, rules, [Opened(number, report.severity, routing.policy)], now=now, actor=by
    )
    # Declared by a person: its first status update is owed from now.
    await update_clock.start(session, number, now)
    return number
