"""The page's JSON in Atlassian Statuspage's public v2 shapes, so that the
readers and widgets written for Statuspage read Klaxon's page too.

Every page hosted by Statuspage documents them, with examples, at its ``/api``
(e.g. https://status.chargebee.com/api); tests/statuspage/fixtures/ holds the
documented examples the shapes are tested against. Scheduled maintenances
(the public maintenance windows' occurrences, app/statuspage/maintenances.py)
have an incident's fields with ``impact: maintenance`` and their
``scheduled_for`` and ``scheduled_until``, as Statuspage gives them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.statuspage.summary import ComponentView, IncidentView, MaintenanceView, Summary
from app.statuspage.words import worst

TIME_ZONE = "Etc/UTC"


def _at(when: datetime | None) -> str | None:
    return when.isoformat(timespec="milliseconds") if when is not None else None


def _page(summary: Summary) -> dict[str, Any]:
    return {
        "id": summary.page_id,
        "name": summary.page_name,
        "url": summary.page_url or "",
        "time_zone": TIME_ZONE,
        "updated_at": _at(summary.updated_at),
    }


def _component(summary: Summary, c: ComponentView) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "created_at": _at(c.created_at),
        "updated_at": _at(c.updated_at),
        "position": c.position,
        "description": c.description,
        "showcase": True,
        "start_date": None,
        "group_id": c.group_id,
        "page_id": summary.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _groups(summary: Summary) -> list[dict[str, Any]]:
    """Statuspage lists a group as a component with ``group: true`` and its
    members' ids; it shows the worst status of its members."""
    members: dict[str, list[ComponentView]] = {}
    for c in summary.components:
        if c.group_id is not None:
            members.setdefault(c.group_id, []).append(c)
    groups = []
    for group_id, inside in members.items():
        first = inside[0]
        status = worst([c.status for c in inside])
        groups.append(
            {
                **_component(summary, first),
                "id": group_id,
                "name": first.group,
                "status": status,
                "description": None,
                "group_id": None,
                "group": True,
                "updated_at": _at(max(c.updated_at for c in inside)),
                "components": [c.id for c in inside],
            }
        )
    return groups


def components(summary: Summary) -> list[dict[str, Any]]:
    return _groups(summary) + [_component(summary, c) for c in summary.components]


def _incident(summary: Summary, i: IncidentView) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "created_at": _at(i.created_at),
        "updated_at": _at(i.updated_at),
        "monitoring_at": _at(i.monitoring_at),
        "resolved_at": _at(i.resolved_at),
        "impact": i.impact,
        "shortlink": f"{summary.page_url}/#incident-{i.id}" if summary.page_url else "",
        "started_at": _at(i.created_at),
        "page_id": summary.page_id,
        "incident_updates": [
            {
                "id": u.id,
                "status": u.status,
                "body": u.body,
                "incident_id": i.id,
                "created_at": _at(u.created_at),
                "updated_at": _at(u.created_at),
                "display_at": _at(u.created_at),
                "affected_components": None,
                "deliver_notifications": False,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for u in i.updates
        ],
        "components": [
            {
                "id": a.id,
                "name": a.name,
                "status": a.status,
                "page_id": summary.page_id,
            }
            for a in i.components
        ],
    }


#: What a maintenance's automatic updates say at each phase (its description,
#: when it has one, is the first).
MAINTENANCE_WORDS = {
    "scheduled": "Maintenance is scheduled.",
    "in_progress": "Scheduled maintenance is in progress.",
    "completed": "The scheduled maintenance has been completed.",
}


def _maintenance(summary: Summary, m: MaintenanceView) -> dict[str, Any]:
    phases = [("scheduled", min(m.created_at, m.scheduled_for))]
    if m.status != "scheduled":
        phases.append(("in_progress", m.scheduled_for))
    if m.status == "completed":
        phases.append(("completed", m.scheduled_until))
    updates = [
        {
            "id": f"{m.id}-{n}",
            "status": status,
            "body": (m.description if n == 0 and m.description else MAINTENANCE_WORDS[status]),
            "incident_id": m.id,
            "created_at": _at(at),
            "updated_at": _at(at),
            "display_at": _at(at),
            "affected_components": None,
            "deliver_notifications": False,
            "custom_tweet": None,
            "tweet_id": None,
        }
        for n, (status, at) in enumerate(phases)
    ]
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status,
        "created_at": _at(m.created_at),
        "updated_at": _at(m.updated_at),
        "monitoring_at": None,
        "resolved_at": _at(m.scheduled_until) if m.status == "completed" else None,
        "impact": "maintenance",
        "shortlink": f"{summary.page_url}/#maintenance-{m.id}" if summary.page_url else "",
        "started_at": _at(m.scheduled_for),
        "page_id": summary.page_id,
        "incident_updates": updates[::-1],  # newest first
        "components": [
            {"id": c.id, "name": c.name, "status": c.status, "page_id": summary.page_id}
            for c in m.components
        ],
        "scheduled_for": _at(m.scheduled_for),
        "scheduled_until": _at(m.scheduled_until),
    }


def maintenances(summary: Summary, *statuses: str) -> list[dict[str, Any]]:
    """The scheduled maintenances in one of ``statuses`` (every one when none given)."""
    return [
        _maintenance(summary, m)
        for m in summary.maintenances
        if not statuses or m.status in statuses
    ]


def status_of(summary: Summary) -> dict[str, str]:
    return {"indicator": summary.indicator, "description": summary.description}


def document(summary: Summary, name: str) -> dict[str, Any]:
    """The body of ``/status/api/v2/<name>.json``."""
    page = _page(summary)
    if name == "status":
        return {"page": page, "status": status_of(summary)}
    if name == "components":
        return {"page": page, "components": components(summary)}
    if name == "incidents":
        return {"page": page, "incidents": [_incident(summary, i) for i in summary.incidents]}
    if name == "incidents/unresolved":
        return {"page": page, "incidents": [_incident(summary, i) for i in summary.unresolved]}
    if name == "scheduled-maintenances":
        return {"page": page, "scheduled_maintenances": maintenances(summary)}
    if name == "scheduled-maintenances/upcoming":
        return {"page": page, "scheduled_maintenances": maintenances(summary, "scheduled")}
    if name == "scheduled-maintenances/active":
        return {"page": page, "scheduled_maintenances": maintenances(summary, "in_progress")}
    if name == "summary":
        return {
            "page": page,
            "components": components(summary),
            "incidents": [_incident(summary, i) for i in summary.unresolved],
            "scheduled_maintenances": maintenances(summary, "scheduled", "in_progress"),
            "status": status_of(summary),
        }
    raise KeyError(name)


DOCUMENTS = (
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
)

# For the subscribers' webhooks (app/statuspage/fanout.py), which carry the same
# incident and times as the documents.
incident = _incident
at = _at
