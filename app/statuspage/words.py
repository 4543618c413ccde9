"""The status page's vocabulary, Atlassian Statuspage's words, with their order."""

from __future__ import annotations

from typing import Literal

ComponentStatus = Literal[
    "operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"
]
Impact = Literal["none", "minor", "major", "critical"]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
OpenStatus = Literal["investigating", "identified", "monitoring"]

#: Worse statuses rank higher; a component held by several public incidents
#: shows the worst of them.
COMPONENT_RANK: dict[str, int] = {
    "operational": 0,
    "under_maintenance": 1,
    "degraded_performance": 2,
    "partial_outage": 3,
    "major_outage": 4,
}
IMPACT_RANK: dict[str, int] = {"none": 0, "minor": 1, "major": 2, "critical": 3}

#: A SEV's default public impact (the publisher may choose another).
SEVERITY_IMPACT: dict[str, Impact] = {
    "SEV1": "critical",
    "SEV2": "major",
    "SEV3": "minor",
    "SEV4": "none",
}

#: The page's indicator and words for its worst component, as Statuspage says them.
COMPONENT_INDICATOR: dict[str, tuple[str, str]] = {
    "operational": ("none", "All Systems Operational"),
    "under_maintenance": ("maintenance", "Service Under Maintenance"),
    "degraded_performance": ("minor", "Minor Service Outage"),
    "partial_outage": ("major", "Partial System Outage"),
    "major_outage": ("critical", "Major System Outage"),
}
IMPACT_DESCRIPTION: dict[str, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}

LABELS: dict[str, str] = {
    "operational": "Operational",
    "under_maintenance": "Under maintenance",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=COMPONENT_RANK.__getitem__, default="operational")
