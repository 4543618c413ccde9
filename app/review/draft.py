"""The post-mortem draft, in the playbook's template, rendered from an incident.

Blameless by construction: the timeline names systems and actions, never
people. Events a person caused read as what was done and how ("Acknowledged
via sms"); in the text of the rest, the names of responders, stakeholders and
everyone who acted are replaced by "a responder". The sections a person
writes (summary, root cause, lessons learned, impact notes) are shown as
written; without them the draft says what to write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.durations import report as duration
from app.response.changes import describe as describe_change
from app.response.roles import blameless_change as blameless_role
from app.response.updates import severity_label
from app.text import one_line

BLAMELESS = "_Blameless: this review is about systems and processes, not individuals._"
SOMEONE = "a responder"
# Actors that are Klaxon's own parts, never people.
_SYSTEM_ACTORS = frozenset({"klaxon", "twilio"})
# Kinds of event a person causes; their actor is a name to keep out of the text.
_PERSONAL_KINDS = frozenset(
    {"acknowledged", "resolved", "note", "status_update", "triage", "responder_added"}
)
# Words a name must never be mistaken for when it is blanked out.
_NOT_NAMES = frozenset({"sms", "api", "cli", "voice", "via", "by", "to", "the", "and"})

_PLACEHOLDERS = {
    "root_cause": "_To be written: what in the system allowed this to happen, and why it "
    "was not caught sooner (trigger, code path, missing safeguard)._",
    "lessons_learned": "_To be written: what went well, what did not, where we got lucky._",
}


@dataclass
class DraftFacts:
    """Everything the draft is made of, read by ``app.review.postmortem``."""

    incident: Mapping[str, Any]
    events: Sequence[Mapping[str, Any]]
    sections: Mapping[str, Any]
    action_items: Sequence[Mapping[str, Any]]
    alerts: int = 0
    repeats: int = 0
    people_paged: int = 0
    pages_sent: int = 0
    names: set[str] = field(default_factory=set)
    # Change events on its services around it (app.response.changes), oldest first.
    changes: Sequence[Mapping[str, Any]] = field(default_factory=list)
    # Who held the incident's roles (``IC: alice · Comms: bob``), if anyone did.
    roles: str | None = None


def _hhmm(at: datetime) -> str:
    return f"{at:%H:%M}"


class _Scrubber:
    def __init__(self, names: Iterable[str]) -> None:
        usable = sorted(
            {n for n in names if len(n) >= 3 and n.casefold() not in _NOT_NAMES},
            key=len,
            reverse=True,
        )
        self._pattern = (
            re.compile(r"(?<![\w@.-])@?(" + "|".join(map(re.escape, usable)) + r")(?![\w@-])")
            if usable
            else None
        )

    def __call__(self, text: str) -> str:
        return self._pattern.sub(SOMEONE, text) if self._pattern is not None else text


def people_in(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """The actors of the events people caused."""
    found = set()
    for event in events:
        data = event.get("data") or {}
        personal = event["kind"] in _PERSONAL_KINDS or "field" in data or "origin" in data
        if event["kind"] == "resolved" and "via" not in data:
            personal = False  # resolved by its alerts
        if personal and event["actor"] not in _SYSTEM_ACTORS:
            found.add(str(event["actor"]))
    return found


def _note_of(message: str) -> str:
    _, sep, note = message.partition(": ")
    return f": {note}" if sep else ""


def blameless(event: Mapping[str, Any], scrub: _Scrubber) -> str:
    """What happened, without who did it."""
    kind, message = event["kind"], str(event["message"])
    data: Mapping[str, Any] = event.get("data") or {}
    if kind == "acknowledged":
        return f"Acknowledged via {data.get('via', 'unknown')}" + scrub(_note_of(message))
    if kind == "resolved" and "via" in data:
        return f"Resolved via {data['via']}" + scrub(_note_of(message))
    if kind == "escalated":
        label = message.partition(":")[0]
        count = len(data.get("responders", []))
        who = "1 responder" if count == 1 else f"{count} responders"
        return f"{label}: paged {who} by {' and '.join(data.get('channels', []))}"
    if kind == "responder_added":
        channels = data.get("channels") or []
        how = f", paged by {' and '.join(channels)}" if channels else ""
        return f"Another responder brought in{how}"
    if kind == "note":
        return f"Note: {scrub(message)}"
    if kind == "role":
        return blameless_role(dict(data))
    return scrub(message)


def _timeline(facts: DraftFacts, scrub: _Scrubber) -> list[str]:
    incident = facts.incident
    entries: list[tuple[datetime, int, str]] = []
    started = incident.get("started_at")
    if started is not None and started < incident["created_at"]:
        entries.append((started, -1, "Impact began (start time from triage)"))
    entries += [(c["at"], -2, scrub(describe_change(c))) for c in facts.changes]
    entries += [(e["at"], i, blameless(e, scrub)) for i, e in enumerate(facts.events)]
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    if not entries:
        return ["_Nothing recorded._"]
    first_day = entries[0][0].date()
    lines = [f"All times UTC, on {first_day:%Y-%m-%d} unless a date says otherwise.", ""]
    day = first_day
    for at, _, text in entries:
        if at.date() != day:
            day = at.date()
            lines.append(f"_{day:%Y-%m-%d}_")
        # One line per entry: a note or title cannot add a fake entry.
        lines.append(f"{_hhmm(at)} - {one_line(text)}")
    return lines


def _summary(facts: DraftFacts) -> str:
    written = facts.sections.get("summary")
    if written:
        return str(written)
    incident = facts.incident
    state = "still open" if incident["status"] != "resolved" else "resolved"
    return (
        f"_Draft: {one_line(incident['title'])} ({severity_label(incident['severity'])}, service "
        f"{incident['service']}), {state}. Replace this with what happened and why, in a "
        f"sentence or two._"
    )


def _impact(facts: DraftFacts) -> list[str]:
    incident = facts.incident
    start = incident.get("started_at") or incident["created_at"]
    end = incident.get("resolved_at")
    lines = []
    if end is not None:
        lines.append(
            f"- Duration: {duration(end - start)} "
            f"({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)"
        )
    else:
        lines.append(f"- Duration: ongoing since {start:%Y-%m-%d %H:%M} UTC")
    lines.append(f"- Severity: {severity_label(incident['severity'])}")
    if incident.get("impact"):
        lines.append(f"- {one_line(incident['impact'])}")
    if incident.get("affected_customers") is not None:
        lines.append(f"- {incident['affected_customers']} affected customers")
    services = [incident["service"], *(incident.get("affected_services") or [])]
    lines.append(f"- Services: {', '.join(dict.fromkeys(services))}")
    if incident.get("regions"):
        lines.append(f"- Regions: {', '.join(incident['regions'])}")
    repeats = facts.repeats
    noun = "alert" if facts.alerts == 1 else "alerts"
    lines.append(
        f"- Alerts: {facts.alerts} {noun}"
        + (f" ({repeats} deduplicated repeats)" if repeats > 0 else "")
    )
    people = "person" if facts.people_paged == 1 else "people"
    pages = "page" if facts.pages_sent == 1 else "pages"
    lines.append(f"- People paged: {facts.people_paged} {people} ({facts.pages_sent} {pages} sent)")
    acknowledged = incident.get("acknowledged_at")
    if acknowledged is not None:
        lines.append(f"- Time to acknowledge: {duration(acknowledged - incident['created_at'])}")
    if end is not None:
        lines.append(f"- Time to resolve: {duration(end - incident['created_at'])}")
    notes = facts.sections.get("impact_notes")
    if notes:
        lines += ["", str(notes)]
    return lines


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _owner(owner: str) -> str:
    owner = _cell(owner)
    return owner if owner.startswith("@") else f"@{owner}"


def _action_items(items: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["| Task | Owner | Due |", "|------|-------|-----|"]
    for item in items:
        task = _cell(item["task"]) + (" (done)" if item["status"] == "done" else "")
        lines.append(f"| {task} | {_owner(item['owner'])} | {item['due']:%Y-%m-%d} |")
    if not items:
        lines += ["", "_None yet._"]
    return lines


def render_draft(facts: DraftFacts) -> str:
    scrub = _Scrubber(facts.names | people_in(facts.events))
    number = facts.incident["number"]
    sections = facts.sections
    lines = [
        f"# Post-Mortem: Incident #{number}",
        "",
        BLAMELESS,
        "",
        *([f"Roles: {facts.roles}", ""] if facts.roles else []),
        "## Summary",
        _summary(facts),
        "",
        "## Timeline",
        *_timeline(facts, scrub),
        "",
        "## Root Cause",
        str(sections.get("root_cause") or _PLACEHOLDERS["root_cause"]),
        "",
        "## Impact",
        *_impact(facts),
        "",
        "## Lessons Learned",
        str(sections.get("lessons_learned") or _PLACEHOLDERS["lessons_learned"]),
        "",
        "## Action Items",
        *_action_items(facts.action_items),
    ]
    return "\n".join(lines) + "\n"
