"""Resolution behind a silence: Alertmanager sends no "resolved" for an alert
that resolves while silenced (prometheus/alertmanager#226), so an incident
whose alerts Klaxon silenced there would stay open here. For those alerts the
reconciliation pass asks Alertmanager (``GET /api/v2/alerts`` filtered on the
alert's exact labels; resolved alerts are not listed there) and an alert it no
longer has is resolved in Klaxon, through the pipeline like any resolution,
so the incident closes and its time to resolve stays right.

Only an answer from Alertmanager counts: unreachable, nothing is resolved. An
Alertmanager that lost its state (a restart without its data) would make its
alerts look gone until Prometheus sends them again (within its evaluation
interval): that is the one case in which this resolves too early, and the
alert's next notification opens it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import AlertEvent
from app.maintenance.alertmanager import AlertmanagerClient
from app.models import alerts_table, silences_table

_A, _S = alerts_table.c, silences_table.c


def _filter(name: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name}="{escaped}"'


async def silenced_alerts(session: AsyncSession) -> list[Any]:
    """Firing Alertmanager alerts of incidents Klaxon holds a silence for."""
    held = select(_S.incident_number).where(
        and_(_S.incident_number.is_not(None), _S.state == "synced")
    )
    rows = await session.execute(
        select(alerts_table).where(
            _A.status == "firing", _A.source == "alertmanager", _A.incident_number.in_(held)
        )
    )
    return list(rows)


async def gone_upstream(
    client: AlertmanagerClient, alerts: list[Any], *, now: datetime
) -> list[AlertEvent]:
    """Resolutions of the alerts Alertmanager no longer has."""
    gone: list[AlertEvent] = []
    for alert in alerts:
        labels = {str(k): str(v) for k, v in alert.labels.items()}
        outcome = await client.alerts([_filter(k, v) for k, v in sorted(labels.items())])
        if not outcome.ok or not isinstance(outcome.data, list):
            continue
        if any(isinstance(a, dict) and a.get("labels") == labels for a in outcome.data):
            continue
        gone.append(
            AlertEvent(
                source="alertmanager",
                fingerprint=alert.fingerprint,
                status="resolved",
                labels=labels,
                annotations={str(k): str(v) for k, v in alert.annotations.items()},
                starts_at=alert.starts_at,
                ends_at=now,
                source_group_key=alert.group_key,
                generator_url=alert.generator_url,
            )
        )
    return gone
