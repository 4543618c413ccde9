"""Which stored episode of an alert a notification speaks of.

An alert (a source and a fingerprint) fires in episodes, each named by its
start. Alertmanager merges what its senders tell it about one alert and
keeps the *earliest* start: an HA pair of Prometheus servers evaluating half a
second apart, or a Prometheus restart, can make the start of a firing episode
move earlier between two notifications. So, for a notification starting at
``S`` (ending at ``E`` when resolved):

* **firing**, an episode starts at ``S``: a repeat of it if it fires; stale if
  it has resolved (a late copy never reopens it);
* **firing**, the next episode after ``S`` fires (and ``S`` is not inside the
  span of a resolved episode before it): the same episode, a repeat of it. It
  keeps the start it was first stored with, so that a copy still carrying that
  start (the other Alertmanager of an HA pair, not yet merged) is a repeat too;
* **firing**, an episode of the present starts after ``S``: stale;
* **firing** otherwise: a new episode, which ends every older one still firing;
* **resolved**: ends every firing episode that started before ``E`` (or at
  ``S``): the open episode, whatever start the merge gave it; a late copy of an
  older resolution (``E`` before the open episode's start) is stale;
* **resolved**, no episode starts at or after ``S``: a new episode seen only
  resolved, recorded; it ends every older one still firing.

An episode "of the present" started at or before now: a stored start from
the future (a bad clock, a hand-written post) never makes a notification of
the present stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar


class Episode(Protocol):
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...


E = TypeVar("E", bound=Episode)


@dataclass
class Verdict(Generic[E]):
    """What one notification does to the stored episodes of its alert."""

    repeat: E | None = None  # a firing repeat of this episode
    resolve: list[E] = field(default_factory=list)  # firing episodes it resolves
    insert: bool = False  # a new episode
    end: list[E] = field(default_factory=list)  # older firing episodes the new one ends
    stale: bool = False


def decide(
    status: str,
    starts_at: datetime,
    ends_at: datetime | None,
    episodes: Sequence[E],
    *,
    now: datetime,
) -> Verdict[E]:
    same = next((ep for ep in episodes if ep.starts_at == starts_at), None)
    later = [ep for ep in episodes if ep.starts_at > starts_at]
    present_later = any(ep.starts_at <= now for ep in later)
    older_firing = [ep for ep in episodes if ep.status == "firing" and ep.starts_at < starts_at]
    if status == "firing":
        if same is not None:
            return Verdict(repeat=same) if same.status == "firing" else Verdict(stale=True)
        following = min(later, key=lambda ep: ep.starts_at, default=None)
        if (
            following is not None
            and following.status == "firing"
            and not _inside_resolved(episodes, starts_at)
        ):
            return Verdict(repeat=following)
        if present_later:
            return Verdict(stale=True)
        return Verdict(insert=True, end=older_firing)
    end = ends_at or starts_at
    ending = [
        ep
        for ep in episodes
        if ep.status == "firing" and (ep.starts_at < end or ep.starts_at == starts_at)
    ]
    if same is None and not present_later:
        return Verdict(insert=True, end=older_firing)
    return Verdict(resolve=ending) if ending else Verdict(stale=True)


def _inside_resolved(episodes: Sequence[Episode], at: datetime) -> bool:
    """Whether ``at`` falls inside the span of a resolved episode: the merge
    only moves a start back to after the previous episode ended."""
    return any(
        ep.status == "resolved" and ep.starts_at < at and (ep.ends_at is None or at < ep.ends_at)
        for ep in episodes
    )
