"""The episode rule on its own: which stored episode a notification speaks of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.ingest.episode_rule import decide

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def at(minute: float) -> datetime:
    return NOW - timedelta(hours=1) + timedelta(minutes=minute)


@dataclass
class Ep:
    starts_at: datetime
    status: str = "firing"
    ends_at: datetime | None = None


def test_firing_with_an_earlier_start_while_the_episode_fires_is_a_repeat_of_it() -> None:
    open_ = Ep(at(0.5 / 60))
    verdict = decide("firing", at(0), None, [open_], now=NOW)
    assert (verdict.repeat, verdict.insert, verdict.stale, verdict.end) == (open_, False, False, [])


def test_firing_with_an_earlier_start_inside_a_resolved_episode_is_stale() -> None:
    episodes = [Ep(at(0), "resolved", at(5)), Ep(at(10))]
    verdict = decide("firing", at(2), None, episodes, now=NOW)
    assert verdict.stale and verdict.repeat is None


def test_firing_after_a_resolved_episode_and_before_a_firing_one_merges_into_it() -> None:
    episodes = [Ep(at(0), "resolved", at(5)), Ep(at(10))]
    verdict = decide("firing", at(7), None, episodes, now=NOW)
    assert verdict.repeat is episodes[1] and not verdict.insert


def test_a_resolution_ending_after_the_open_episode_began_resolves_it_whatever_its_start() -> None:
    open_ = Ep(at(0.5 / 60))
    verdict = decide("resolved", at(0), at(30), [open_], now=NOW)
    assert verdict.resolve == [open_] and not verdict.stale and not verdict.insert


def test_a_resolution_ending_before_the_open_episode_began_is_stale() -> None:
    episodes = [Ep(at(0), "resolved", at(5)), Ep(at(10))]
    verdict = decide("resolved", at(0), at(5), episodes, now=NOW)
    assert verdict.stale and verdict.resolve == []


def test_a_new_episode_ends_the_older_firing_one() -> None:
    old = Ep(at(0))
    verdict = decide("firing", at(20), None, [old], now=NOW)
    assert verdict.insert and verdict.end == [old]


def test_an_episode_from_the_future_never_makes_the_present_stale() -> None:
    future = Ep(NOW + timedelta(hours=20), "resolved", NOW + timedelta(hours=21))
    assert decide("firing", at(0), None, [future], now=NOW).insert
    assert decide("resolved", at(0), at(1), [future], now=NOW).insert


def test_an_episode_of_the_present_still_makes_an_older_notification_stale() -> None:
    present = Ep(at(30), "resolved", at(40))
    assert decide("firing", at(0), None, [present], now=NOW).stale
