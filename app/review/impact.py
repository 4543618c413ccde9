"""The post-mortem's Impact: the worst of what was recorded, not the last.

An incident's impact statement is corrected as it goes ("50% of payments
failing" at the peak, "5% failing" during the recovery, "none" at the end);
its severity is raised and lowered. The review states the worst: the most
severe severity the incident had, the impact statement with the largest
figure in it (a percentage before a plain number; among equals, or with no
figure at all, the later one, which was said knowing more), and the largest
count of affected customers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*([kKmM](?![a-zA-Z]))?")
_SCALE = {"k": 1e3, "m": 1e6}


@dataclass(frozen=True)
class Statement:
    value: Any
    at: datetime


@dataclass(frozen=True)
class Worst:
    severity: str
    final_severity: str
    impact: Statement | None
    impacts_recorded: int
    customers: Statement | None


def _number(text: str) -> float:
    """The largest figure in ``text`` (``~3k`` is 3000, ``1000-5000`` 5000); -1 for none."""
    found = [
        float(digits.replace(",", "")) * _SCALE.get((unit or "").lower(), 1)
        for digits, unit in _NUMBER.findall(text)
    ]
    return max(found, default=-1.0)


def impact_rank(text: str) -> tuple[float, float]:
    """How bad an impact statement is: its largest percentage, then its largest figure."""
    percents = [float(p) for p in _PERCENT.findall(text)]
    return max(percents, default=-1.0), _number(_PERCENT.sub("", text))


def _customers_rank(value: Any) -> float:
    return float(value) if isinstance(value, int) else _number(str(value))


def _recorded(
    events: Sequence[Mapping[str, Any]], incident: Mapping[str, Any], field: str
) -> list[Statement]:
    """The values ``field`` was set to (cleared ones left out), oldest first;
    the incident's own value stands for an incident without events."""
    found = [
        Statement(e["data"]["value"], e["at"])
        for e in events
        if e["kind"] == "triage"
        and (e.get("data") or {}).get("field") == field
        and e["data"].get("value") not in (None, "")
    ]
    current = incident.get(field)
    if current not in (None, "") and (not found or found[-1].value != current):
        # Set without an event: when the incident was reported with it.
        found.append(Statement(current, incident["updated_at" if found else "created_at"]))
    return found


def worst(incident: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> Worst:
    severities = [str(incident["severity"])]
    for event in events:
        data = event.get("data") or {}
        if event["kind"] == "severity_changed":
            severities += [str(data.get("from")), str(data.get("to"))]
        elif event["kind"] == "triggered" and data.get("severity"):
            severities.append(str(data["severity"]))
    impacts = _recorded(events, incident, "impact")
    customers = _recorded(events, incident, "affected_customers")
    return Worst(
        severity=min((s for s in severities if s.startswith("SEV")), default=severities[0]),
        final_severity=str(incident["severity"]),
        # max() keeps the first of equals: reversed, that is the latest.
        impact=max(reversed(impacts), key=lambda s: impact_rank(str(s.value)), default=None),
        impacts_recorded=len({str(s.value) for s in impacts}),
        customers=max(reversed(customers), key=lambda s: _customers_rank(s.value), default=None),
    )
