"""Deduplicated repeats reach the timeline as a summary, off the webhook's path:
one ``repeats`` event per incident at most every ten minutes, once across
replicas."""

from __future__ import annotations

from app.ingest.repeat_summary import summarize_repeats
from app.notify.sender import make_sender
from app.worker import Worker
from tests.helpers import WEBHOOK
from tests.paging import Paging, checkout_alert, open_incident
from tests.response.helpers import timeline
from tests.sqlcount import counting


async def _repeat(paging: Paging, times: int) -> None:
    for _ in range(times):
        resp = await paging.api.post(WEBHOOK, json=checkout_alert())
        assert resp.json()["repeats"] == 1


async def _repeats(paging: Paging, number: int) -> list[dict[str, object]]:
    return [e for e in await timeline(paging.api, number) if e["kind"] == "repeats"]


async def test_repeats_are_summarized_on_the_timeline_at_most_every_ten_minutes(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert await _repeats(paging, number) == [], "the webhook itself writes no event"
    paging.clock.advance(seconds=30)
    await _repeat(paging, 3)
    assert await _repeats(paging, number) == []
    await paging.tick()
    [first] = await _repeats(paging, number)
    assert first["message"] == "Alerts repeated 3 times (deduplicated)"
    assert first["at"] == "2026-11-26T12:00:30Z", "when the last repeat arrived"
    assert first["actor"] == "klaxon"
    assert first["data"] == {"repeats": 3, "total": 3}

    paging.clock.advance(minutes=1)
    await _repeat(paging, 2)
    await paging.tick(minutes=1)
    assert len(await _repeats(paging, number)) == 1, "not again within ten minutes"
    await paging.tick(minutes=9)
    second = (await _repeats(paging, number))[-1]
    assert second["message"] == "Alerts repeated 2 times (deduplicated; 5 repeats in all)"
    assert second["at"] == "2026-11-26T12:01:30Z"
    await paging.tick(minutes=30)
    assert len(await _repeats(paging, number)) == 2, "nothing new, nothing written"


async def test_a_second_replica_does_not_tell_the_same_repeats_again(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await _repeat(paging, 2)
    runtime = paging.app.state.runtime
    other = Worker(runtime, make_sender(runtime.settings), owner="replica-b")
    try:
        await paging.tick()
        await other.run_due()
    finally:
        await other.stop()
    assert len(await _repeats(paging, number)) == 1


async def test_repeats_just_before_resolution_are_still_told(paging: Paging) -> None:
    payload = checkout_alert()
    number = await open_incident(paging, payload)
    await paging.tick()
    await _repeat(paging, 1)
    payload["alerts"][0]["status"] = "resolved"
    payload["alerts"][0]["endsAt"] = "2026-11-26T12:00:10Z"
    await paging.api.post(WEBHOOK, json=payload)
    await paging.tick(minutes=1)
    assert [e["message"] for e in await _repeats(paging, number)] == [
        "Alerts repeated once (deduplicated)"
    ], "the resolution is on the timeline, not counted as a repeat"


#: Statements of a pass of summaries, whatever the number of incidents: begin,
#: the counts, what was told, the counts moved (new ones; known ones), the
#: events, commit. It was one statement per incident to summarize more.
SUMMARY_STATEMENTS = 7


async def test_many_incidents_are_summarized_in_a_few_statements(paging: Paging) -> None:
    fingerprints = [f"5a11000000000{n:03d}" for n in range(6)]
    numbers = [await open_incident(paging, checkout_alert(fp)) for fp in fingerprints]
    assert len(set(numbers)) == 6
    runtime = paging.app.state.runtime

    async def summarize() -> list[str]:
        with counting(runtime.engine) as seen:
            written = await summarize_repeats(runtime.sessions, paging.clock.now())
        assert written == 6, "every incident's repeats told"
        return seen

    for n, fp in enumerate(fingerprints):
        for _ in range(n + 1):
            resp = await paging.api.post(WEBHOOK, json=checkout_alert(fp))
            assert resp.json()["repeats"] == 1
    first = await summarize()
    assert len(first) <= SUMMARY_STATEMENTS, "\n".join(first)
    for n, number in enumerate(numbers):
        times = "once" if n == 0 else f"{n + 1} times"
        [event] = await _repeats(paging, number)
        assert event["message"] == f"Alerts repeated {times} (deduplicated)"

    paging.clock.advance(minutes=10)
    for fp in fingerprints:
        await paging.api.post(WEBHOOK, json=checkout_alert(fp))
    second = await summarize()
    assert len(second) <= SUMMARY_STATEMENTS, "\n".join(second)
    for n, number in enumerate(numbers):
        last = (await _repeats(paging, number))[-1]
        total = n + 2
        assert last["message"] == f"Alerts repeated once (deduplicated; {total} repeats in all)"
    assert await summarize_repeats(runtime.sessions, paging.clock.now()) == 0, "told once"
