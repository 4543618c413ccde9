"""What a new incident's first page costs the worker, from its due step to the
SMS at Twilio (issue 13.3: paging under load). Under load each statement is a
round trip that waits its turn on the event loop behind the webhooks, so a
page's latency grows with their number: the step is fired and its page claimed,
screened and sent in one pass, without a look per step worker or a second read
of the due times in between. Counted, not timed: counts do not depend on the
machine's load (tests/sqlcount.py)."""

from __future__ import annotations

from tests.paging import ALICE, Paging, checkout_alert, open_incident
from tests.sqlcount import counting

#: The pass that fires a new incident's step and sends its page: the due
#: times; the step's transaction (claimed, fired without a savepoint, the next
#: one scheduled, a look for another one due); the page's (claimed with what waits for its
#: number, screened, the number's recent sends read); its outcome recorded;
#: the timeline's webhook mark moved (nobody listens: one UPDATE); the due
#: times again. The send's outcome adds a timeline line while the pass goes
#: on: whether the pass sees it and moves the mark once more (three statements)
#: depends on which commits first, so that move is allowed for. It was 46 on
#: SQLite and 67 on PostgreSQL: a look per step worker (eight), a second read
#: of the due times, the screening, the window and what waits read in three
#: transactions of their own, each on the page's way to Twilio, and the mark
#: moved in four statements; 34 with a savepoint around each step.
PAGE_STATEMENTS = 32 + 3


async def test_a_new_incidents_page_goes_out_in_one_pass(paging: Paging) -> None:
    await paging.tick(seconds=20)  # housekeeping's first run is behind us
    await open_incident(paging, checkout_alert())
    with counting(paging.app.state.runtime.engine) as seen:
        await paging.engine.one_pass()
        await paging.engine.dispatcher.drain()
    assert len(paging.texts_to(ALICE)) == 1, "the step fired and its page went out"
    assert len(seen) <= PAGE_STATEMENTS, f"{len(seen)} statements:\n" + "\n".join(
        s.split("\n")[0][:100] for s in seen
    )
