"""The post-mortem draft, in the playbook's template, rendered from an incident.

Blameless by construction: the people the system recorded (who acknowledged,
who was paged, who was brought in) are shown by their role in the incident,
else as "a responder"; the words people wrote (notes, status updates, impact,
the notes of an acknowledgement) are shown as written, names and all, since
blanking a name out of prose rewrites ordinary words (a responder named
``max`` would turn "Raised max connections" into nonsense). The sections a
person writes (summary, root cause, lessons learned, impact notes) are shown
as written; without them the draft says what to write.

Stable enough to diff: nothing in it depends on when it is read; times are
UTC to the second, in the order things happened (``app.timeline``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.durations import human
from app.models import Incident
from app.response.changes import describe as describe_change
from app.response.roles import blameless_change as blameless_role
from app.response.updates import severity_label
from app.review.impact import worst
from app.text import one_line
from app.timeline import Entry, Notice, by_day, channels_words, clock, fold, in_order

BLAMELESS = "_Blameless: this review is about systems and processes, not individuals._"
SOMEONE = "a responder"
# Actors that are Klaxon's own parts, never people.
_SYSTEM_ACTORS = frozenset({"klaxon", "twilio"})
# Kinds of event a person causes; their actor is a name to keep out of the text.
_PERSONAL_KINDS = frozenset(
    {"acknowledged", "resolved", "note", "status_update", "triage", "responder_added"}
)
# Kinds whose words Klaxon wrote and that name the people it paged: the only
# texts names are blanked out of. Alert titles and what people wrote are not.
_SYSTEM_WORDS = frozenset(
    {"delivery", "notified", "notify_failed", "throttled", "notice_dropped", "warning"}
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

    incident: Incident
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
    # The incident's notifications by id, to fold its sends (app.timeline).
    notices: Mapping[int, Notice] = field(default_factory=dict)
    # Who held a role in the incident: name -> role ("incident commander"), to
    # name the people the system recorded by their role.
    role_of: Mapping[str, str] = field(default_factory=dict)


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


class _Blameless:
    """An event's words without who the system recorded doing it."""

    def __init__(self, facts: DraftFacts) -> None:
        self.roles = facts.role_of
        self.scrub = _Scrubber(facts.names | people_in(facts.events))

    def who(self, names: Sequence[str]) -> str:
        """People by their roles; the rest counted as responders."""
        names = list(dict.fromkeys(names))
        known = [f"the {self.roles[n]}" for n in names if n in self.roles]
        others = len(names) - len(known)
        if others:
            known.append(SOMEONE if others == 1 and not known else f"{others} responders")
        return " and ".join(known)

    def by(self, actor: str) -> str:
        role = self.roles.get(actor)
        return f" by the {role}" if role else ""

    def __call__(self, event: Mapping[str, Any]) -> str:
        kind, message = event["kind"], str(event["message"])
        data: Mapping[str, Any] = event.get("data") or {}
        if kind == "acknowledged" or (kind == "resolved" and "via" in data):
            done = "Acknowledged" if kind == "acknowledged" else "Resolved"
            return f"{done}{self.by(event['actor'])} via {data.get('via', 'unknown')}" + _note_of(
                message
            )
        if kind == "escalated":
            label = message.partition(":")[0]
            who = self.who(data.get("responders", []))
            return f"{label}: paged {who} by {channels_words(data.get('channels', []))}"
        if kind == "responder_added":
            channels = data.get("channels") or []
            how = f", paged by {channels_words(channels)}" if channels else ""
            return f"Another responder brought in{how}"
        if kind == "note":
            return f"Note: {message}"
        if kind == "role":
            return blameless_role(dict(data))
        if kind == "update_missed":  # app.response.reminders names whom it reminded
            missed, _, _ = message.partition(";")
            reminded = data.get("reminded")
            return missed + (f"; reminded {self.who([reminded])} by SMS" if reminded else "")
        return self.scrub(message) if kind in _SYSTEM_WORDS else message


def _timeline(facts: DraftFacts, describe: _Blameless) -> list[str]:
    incident = facts.incident
    entries = fold(facts.events, facts.notices, describe=describe, who=describe.who, blameless=True)
    started = incident.started_at
    if started is not None and started < incident.created_at:
        entries.append(Entry(started, "Impact began (start time from triage)", (0, started, 0, -1)))
    entries += [
        Entry(c["at"], describe_change(c), (0, c["at"], 0, i - 10**6))
        for i, c in enumerate(facts.changes)
    ]
    entries = in_order(entries)
    if not entries:
        return ["_Nothing recorded._"]
    first_day = entries[0].at.date()
    days = by_day(entries, "_{day}_")
    return [f"All times UTC, on {first_day:%Y-%m-%d} unless a date says otherwise.", "", *days[1:]]


def _summary(facts: DraftFacts) -> str:
    written = facts.sections.get("summary")
    if written:
        return str(written)
    incident = facts.incident
    state = "still open" if incident.status != "resolved" else "resolved"
    return (
        f"_Draft: {one_line(incident.title)} ({severity_label(incident.severity)}, service "
        f"{incident.service}), {state}. Replace this with what happened and why, in a "
        f"sentence or two._"
    )


def _length(delta: timedelta) -> str:
    return human(delta.total_seconds())


def _impact(facts: DraftFacts) -> list[str]:
    incident = facts.incident
    start = incident.started_at or incident.created_at
    end = incident.resolved_at
    lines = []
    if end is not None:
        lines.append(
            f"- Duration: {_length(end - start)} "
            f"({start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC)"
        )
    else:
        lines.append(f"- Duration: ongoing since {start:%Y-%m-%d %H:%M:%S} UTC")
    bad = worst(incident.model_dump(), facts.events)
    severity = f"- Severity: {severity_label(bad.severity)}"
    if bad.severity != bad.final_severity:
        severity += f" at its worst ({severity_label(bad.final_severity)} at the end)"
    lines.append(severity)
    if bad.impact is not None:
        note = (
            f" (the worst recorded, at {clock(bad.impact.at)})" if bad.impacts_recorded > 1 else ""
        )
        lines.append(f"- {one_line(str(bad.impact.value))}{note}")
    if bad.customers is not None:
        lines.append(f"- {bad.customers.value} affected customers")
    services = [incident.service, *(incident.affected_services or [])]
    lines.append(f"- Services: {', '.join(dict.fromkeys(services))}")
    if incident.regions:
        lines.append(f"- Regions: {', '.join(incident.regions)}")
    repeats = facts.repeats
    noun = "alert" if facts.alerts == 1 else "alerts"
    lines.append(
        f"- Alerts: {facts.alerts} {noun}"
        + (f" ({repeats} deduplicated repeats)" if repeats > 0 else "")
    )
    people = "person" if facts.people_paged == 1 else "people"
    pages = "page" if facts.pages_sent == 1 else "pages"
    lines.append(f"- People paged: {facts.people_paged} {people} ({facts.pages_sent} {pages} sent)")
    acknowledged = incident.acknowledged_at
    if acknowledged is not None:
        lines.append(f"- Time to acknowledge: {_length(acknowledged - incident.created_at)}")
    if end is not None:
        lines.append(f"- Time to resolve: {_length(end - incident.created_at)}")
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
    describe = _Blameless(facts)
    number = facts.incident.number
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
        *_timeline(facts, describe),
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
