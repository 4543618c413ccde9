"""A sign-in code is never held behind pages, and never holds a page back: the
dispatcher applying the throttle's rule for kind ``code`` (the rule itself:
tests/notify/test_throttle.py)."""

from __future__ import annotations

from app.clock import ManualClock
from tests.console.helpers import ask_code, console_client, last_code
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, checkout_alert, open_incident, serve_paging


async def test_the_dispatcher_sends_a_code_to_a_number_whose_page_budget_is_spent(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock
) -> None:
    # One SMS per window: alice's page spends it, and a low page after it waits.
    async with serve_paging(db, fake_twilio, clock, throttle_sms=1) as paging:
        await open_incident(paging, checkout_alert("f1", severity="warning"))
        await paging.tick()
        await open_incident(paging, checkout_alert("f2", severity="warning"))
        await paging.tick()
        assert len(paging.texts_to(ALICE)) == 1  # the second page is held back
        async with console_client(paging) as client:
            assert (await ask_code(client, ALICE)).status_code == 303
        await paging.tick()
        assert "sign-in code" in paging.texts_to(ALICE)[-1]
        assert len(last_code(paging, ALICE)) == 6
        # The code took nothing from the pages: the held page goes when the window frees.
        await paging.tick(minutes=15, seconds=1)
        assert len(paging.texts_to(ALICE)) == 3
