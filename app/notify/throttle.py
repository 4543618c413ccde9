"""The per-number throttle: which of the messages due for one phone go now, as
what, and which wait, until when. A pure function of what is due and what went
to that number within the window; :mod:`app.notify.dispatch` applies it.

The throttle spares a phone from noise; it never holds back the signal:

- a SEV1 or SEV2 page goes out when its step fires, whatever went to the
  number before, and everything else waiting for that number about an
  incident rides along in it (``... (+3 more: #4 #6 #7 resolved)``);
- a SEV3/SEV4 page waits only while the number has had ``limit`` pages in the
  window: notices never count against a page;
- a notice (resolved, status update, handoff) yields: it goes only while the
  number has had fewer than ``limit`` messages of any kind in the window,
  several that cannot each have a slot go as one digest, and the rest wait;
- pages waiting for one number go as one message: one SMS, or one call that
  announces them all;
- a console sign-in code (kind ``code``) goes at once, in a message of its
  own after the pages, and counts against nothing: a person signing in is not
  kept waiting by pages, and their codes never hold a page back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

__all__ = ["URGENT", "Plan", "Sent", "label", "plan"]

#: Severities whose pages no throttle holds back.
URGENT = frozenset({"SEV1", "SEV2"})


class Item(Protocol):
    @property
    def kind(self) -> str: ...  # page, resolved, update, handoff, code

    @property
    def incident_number(self) -> int | None: ...


T = TypeVar("T", bound=Item)


@dataclass(frozen=True)
class Sent:
    """A message that went to the number within the window."""

    at: datetime
    kind: str


@dataclass
class Plan(Generic[T]):
    #: Each message is sent as one SMS or call, about its first item.
    messages: list[list[T]] = field(default_factory=list)
    #: Items that wait, with the time they may go.
    waiting: list[tuple[list[T], datetime]] = field(default_factory=list)


def label(item: Item) -> str:
    """How an item is named when it rides along in another's message."""
    number = f"#{item.incident_number}" if item.incident_number is not None else ""
    if item.kind == "page":
        return number
    if item.kind == "handoff":
        return "shift handoff"
    if item.kind == "status":  # to a status page subscriber (app/statuspage)
        return "status page update"
    return f"{number} {'status update' if item.kind == 'update' else item.kind}".strip()


def _frees_at(times: Sequence[datetime], limit: int, window: timedelta, now: datetime) -> datetime:
    """When fewer than ``limit`` of ``times`` lie within the window."""
    if len(times) < limit:
        return now
    return sorted(times)[len(times) - limit] + window


def plan(
    items: list[T],
    *,
    urgent: Callable[[T], bool],
    sent: list[Sent],
    limit: int,
    window: timedelta,
    now: datetime,
) -> Plan[T]:
    """What goes to one number now and what waits. ``items`` are what is due,
    oldest first; ``urgent`` says which pages are SEV1/SEV2."""
    result: Plan[T] = Plan()
    codes = [i for i in items if i.kind == "code"]
    items = [i for i in items if i.kind != "code"]
    sent = [s for s in sent if s.kind != "code"]
    pages = [i for i in items if i.kind == "page"]
    notices = [i for i in items if i.kind != "page"]
    leads = [p for p in pages if urgent(p)]
    page_times = [s.at for s in sent if s.kind == "page"]
    all_times = [s.at for s in sent]
    if leads:
        # The signal goes now and takes along everything about an incident.
        riders = [p for p in pages if not urgent(p)]
        riders += [n for n in notices if n.incident_number is not None]
        result.messages.append(leads + riders)
        notices = [n for n in notices if n.incident_number is None]
    elif pages:
        if len(page_times) < limit:
            result.messages.append(pages)
        else:
            result.waiting.append((pages, _frees_at(page_times, limit, window, now)))
    if notices:
        all_times += [now] * len(result.messages)
        slots = limit - len(all_times)
        if slots >= len(notices):
            result.messages += [[n] for n in notices]
        elif slots > 0:
            result.messages.append(notices)  # one digest
        else:
            result.waiting.append((notices, _frees_at(all_times, limit, window, now)))
    result.messages += [[code] for code in codes]
    return result
