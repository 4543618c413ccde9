"""Timeline events: every state change of an incident, with when and who."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import notifications_table, timeline_table
from app.models.types import ACTOR_MAX
from app.text import clip, one_line

MESSAGE_MAX = 2000  # timeline_events.message


def event_row(
    incident_number: int,
    kind: str,
    message: str,
    *,
    at: datetime,
    actor: str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "incident_number": incident_number,
        "kind": kind,
        "message": clip(message, MESSAGE_MAX),
        "at": at,
        "actor": clip(actor, ACTOR_MAX),
        "data": data or {},
    }


async def record(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(timeline_table), rows)


def describe_alerts(kind: str, titles: list[str]) -> str:
    if len(titles) == 1:
        return f"Alert {kind}: {titles[0]}"
    shown = ", ".join(titles[:3])
    more = f" and {len(titles) - 3} more" if len(titles) > 3 else ""
    return f"{len(titles)} alerts {kind}: {shown}{more}"


# --- reading the timeline back ---------------------------------------------
#
# What the system recorded stays as it was: each event keeps its ``at`` (when
# Klaxon wrote it) and its place. A person may say something happened earlier
# (a note's ``at``): that claim is kept in ``data["happened_at"]`` and the
# event is shown at the claimed time, marked with when it was added and by
# whom (``14:30:00 (added 14:52:10 by alice)``). Rendered timelines sort by
# the time each entry happened; a back-dated entry goes before what the system
# recorded in the same second, and recorded entries never change order among
# themselves (their sort key is their own ``at`` and id).

HAPPENED_AT = "happened_at"  # data key of a back-dated event's claimed time
CHANNEL_WORDS = {"sms": "SMS", "voice": "call"}
# Delivery reports that only confirm a send; the timeline leaves them out.
ROUTINE_DELIVERIES = frozenset({"delivered", "completed"})


def clock(at: datetime) -> str:
    """``14:35:02``: the timeline's second-grained UTC time of day."""
    return f"{at.astimezone(UTC):%H:%M:%S}"


def happened(event: Mapping[str, Any]) -> datetime:
    """When ``event`` happened: its back-dated time if a person gave one, else
    when it was recorded."""
    claimed = (event.get("data") or {}).get(HAPPENED_AT)
    if claimed:
        return datetime.fromisoformat(claimed)
    recorded: datetime = event["at"]
    return recorded


def backdated(event: Mapping[str, Any]) -> bool:
    return bool((event.get("data") or {}).get(HAPPENED_AT))


def channels_words(channels: Iterable[str]) -> str:
    """``SMS and call``."""
    return " and ".join(CHANNEL_WORDS.get(c, c) for c in dict.fromkeys(channels))


def names_words(names: Sequence[str]) -> str:
    """``bob``, ``bob and carol``, ``bob, carol and dave``."""
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class Notice:
    """What a ``notified``/``delivery`` event's notification was."""

    kind: str  # page, resolved, update, handoff
    channel: str
    name: str
    stakeholder: bool  # a stakeholder's notice, not a responder's


@dataclass
class Entry:
    """One line of a rendered timeline."""

    at: datetime  # when it happened
    text: str
    # Sorts within its second: 0 a back-dated or outside fact, 1 what Klaxon
    # recorded; then its exact time; then 0 an event, 1 a send (sends recorded
    # at one instant were sent concurrently: they go by notification id, the
    # order they were decided in); then its place in the list it came from.
    order: tuple[int, datetime, int, int]
    added: str | None = None  # back-dated: "added 14:52:10 by alice"

    def line(self, *, dated: bool = False) -> str:
        when = clock(self.at)
        if dated:
            when = f"{self.at.astimezone(UTC):%Y-%m-%d} {when} UTC"
        if self.added:
            when += f" ({self.added})"
        return f"{when} - {one_line(self.text)}"


async def notices_of(session: AsyncSession, number: int) -> dict[int, Notice]:
    """The incident's notifications by id, to fold its sends into lines."""
    n = notifications_table.c
    rows = await session.execute(
        select(n.id, n.kind, n.channel, n.responder_name, n.responder_id).where(
            n.incident_number == number
        )
    )
    return {
        r.id: Notice(
            r.kind, r.channel, r.responder_name, r.responder_id is None and r.kind != "page"
        )
        for r in rows
    }


class Describe(Protocol):
    def __call__(self, event: Mapping[str, Any]) -> str | None: ...


class Naming(Protocol):
    def __call__(self, names: Sequence[str]) -> str: ...


def _send_text(notice: Notice, names: Sequence[str], channels: Sequence[str], who: Naming) -> str:
    how = channels_words(channels)
    if notice.stakeholder:
        what = "status update" if notice.kind == "update" else f"{notice.kind} notice"
        count = len(dict.fromkeys(names))
        plural = "stakeholder" if count == 1 else "stakeholders"
        return f"Stakeholder notice ({what}) sent to {count} {plural} by {how}"
    if notice.kind == "page":
        return f"Paged {who(names)} by {how}"
    return f"{notice.kind.capitalize()} notice sent to {who(names)} by {how}"


def fold(
    events: Sequence[Mapping[str, Any]],
    notices: Mapping[int, Notice],
    *,
    describe: Describe,
    who: Naming,
    blameless: bool = False,
) -> list[Entry]:
    """The timeline as lines, in the order things happened.

    Folded: the sends of an escalation step (or of a responder brought in) are
    that step's one line; other sends of one kind in one second are one line
    (``Paged bob by SMS and call``); delivery reports that only confirm a send
    are left out; repeated alerts are counted by their summary events.
    ``describe`` gives an event's words (None leaves it out); ``who`` names
    people the system recorded (their names, or roles in a blameless draft).
    """
    entries: list[Entry] = []
    expected: set[tuple[str, str]] = set()  # (name, channel) a step's line already says
    groups: dict[tuple[datetime, str, bool, str], tuple[Entry, Notice, list[str], list[str]]] = {}
    for index, event in enumerate(events):
        data: Mapping[str, Any] = event.get("data") or {}
        kind = event["kind"]
        notice = notices.get(data.get("notification", -1))
        if kind == "escalated":
            expected |= {
                (r, c) for r in data.get("responders", []) for c in data.get("channels", [])
            }
        elif kind == "responder_added":
            expected |= {(data.get("responder", ""), c) for c in data.get("channels", [])}
        elif kind == "notified" and notice is not None:
            if notice.kind == "page" and (notice.name, notice.channel) in expected:
                expected.discard((notice.name, notice.channel))
                continue
            second = event["at"].replace(microsecond=0)
            key = (
                second,
                notice.kind,
                notice.stakeholder,
                "" if notice.stakeholder else notice.name,
            )
            if key in groups:
                entry, first, names, channels = groups[key]
                names.append(notice.name)
                channels.append(notice.channel)
                entry.text = _send_text(first, names, channels, who)
                continue
            sent = _send_text(notice, [notice.name], [notice.channel], who)
            entry = Entry(event["at"], sent, (1, event["at"], 1, data["notification"]))
            groups[key] = (entry, notice, [notice.name], [notice.channel])
            entries.append(entry)
            continue
        elif kind == "delivery" and data.get("status") in ROUTINE_DELIVERIES:
            continue
        said = describe(event)
        if said is None:
            continue
        if backdated(event):
            by = "" if blameless else f" by {event['actor']}"
            at = happened(event)
            added = f"added {clock(event['at'])}{by}"
            entries.append(Entry(at, said, (0, at, 0, index), added))
        else:
            entries.append(Entry(event["at"], said, (1, event["at"], 0, index)))
    return in_order(entries)


def in_order(entries: Iterable[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.at.replace(microsecond=0), e.order))


def describe_named(event: Mapping[str, Any]) -> str:
    """An event's words as recorded, names and all; a step's line says whom it
    paged and how (``Step 1: paged bob by SMS and call``)."""
    data: Mapping[str, Any] = event.get("data") or {}
    if event["kind"] == "escalated" and data.get("responders"):
        label = str(event["message"]).partition(":")[0]
        how = channels_words(data.get("channels", []))
        return f"{label}: paged {names_words(data['responders'])} by {how}"
    return str(event["message"])


def named_lines(events: Sequence[Mapping[str, Any]], notices: Mapping[int, Notice]) -> list[str]:
    """The timeline for the people running the incident: folded, in the order
    things happened, with their names."""
    entries = fold(events, notices, describe=describe_named, who=names_words)
    return by_day(entries, "{day} (UTC)")


async def latest_line(
    session: AsyncSession, number: int, events: Sequence[Mapping[str, Any]]
) -> str | None:
    """The incident's latest line, dated (``2026-11-26 14:40:05 UTC - ...``): what
    happened last, for someone taking over; None for an empty timeline."""
    entries = fold(
        events, await notices_of(session, number), describe=describe_named, who=names_words
    )
    return entries[-1].line(dated=True) if entries else None


def by_day(entries: Sequence[Entry], marker: str) -> list[str]:
    """One line per entry, with ``marker`` (``{day}``: its date) before the first
    entry of each day after the first; the first day starts the list."""
    lines: list[str] = []
    day = None
    for entry in entries:
        if entry.at.date() != day:
            day = entry.at.date()
            lines.append(marker.format(day=f"{day:%Y-%m-%d}"))
        # One line per entry: a note or title cannot add a fake entry.
        lines.append(entry.line())
    return lines
