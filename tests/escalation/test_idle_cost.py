"""What a pass of the engine's loop costs when nothing is due (issue 13).

The loop runs at least twice a second on every replica, and again after every
send and every commit that makes work due. An idle pass used to open a write
transaction per stage (heartbeats, steps, reminders, sends, the webhook
forwarder, the outbound queue) and read each stage's next due time apart:
about thirty statements, and a commit, twice a second, beside the webhooks.
Now it reads every due time in one statement and runs only the stages whose
work is due. These tests count statements (an SQLAlchemy event on the engine)
rather than time, so they do not depend on the machine's load.
"""

from __future__ import annotations

from app.clock import ManualClock
from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.response.helpers import report
from tests.sqlcount import counting

#: What one idle pass may cost: the due times, read in one statement.
IDLE_STATEMENTS = 1


async def _busy_but_idle(paging: Paging) -> None:
    """Everything configured, nothing due: an acknowledged incident whose status
    update is not yet due, a paged one whose next step waits five minutes, a
    heartbeat not yet expired, the outbound queue's handlers registered."""
    declared = await report(paging.api, service="checkout", severity="SEV1")
    acked = await paging.api.post(
        f"/api/v1/incidents/{declared['number']}/acknowledge", json={"by": "alice"}
    )
    assert acked.status_code == 200, acked.text
    await open_incident(paging, checkout_alert())
    beat = await paging.api.put("/api/v1/heartbeats/nightly", json={"interval": 3600, "grace": 0})
    assert beat.status_code in (200, 201), beat.text
    await paging.tick()
    assert paging.texts_to(ALICE), "the open incident paged"
    await paging.tick(seconds=20)  # housekeeping's first run is behind us


async def test_an_idle_pass_reads_its_due_times_in_one_statement(
    paging: Paging, clock: ManualClock
) -> None:
    await _busy_but_idle(paging)
    engine = paging.engine
    with counting(paging.app.state.runtime.engine) as seen:
        wait = await engine.one_pass()
    assert 0 < wait <= paging.app.state.runtime.settings.engine_poll_seconds
    assert len(seen) <= IDLE_STATEMENTS, "\n".join(seen)
    assert "COMMIT" not in seen, "an idle pass writes nothing"


async def test_the_pass_after_an_idle_one_still_fires_what_fell_due(
    paging: Paging, clock: ManualClock
) -> None:
    """The one statement is enough to see work: five minutes on, step 2 pages."""
    await _busy_but_idle(paging)
    texts = len(paging.fake.messages)
    clock.advance(minutes=5)
    with counting(paging.app.state.runtime.engine) as seen:
        await paging.engine.one_pass()
        await paging.engine.dispatcher.drain()
    assert len(seen) > IDLE_STATEMENTS
    assert len(paging.fake.messages) > texts, "the due step paged"
