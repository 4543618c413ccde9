"""A sign-in code is never held behind pages, and never holds a page back: the
throttle's rule for kind ``code`` (pure), and the dispatcher applying it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.clock import ManualClock
from app.notify.throttle import Sent, plan
from tests.console.helpers import ask_code, console_client, last_code
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, checkout_alert, open_incident, serve_paging

NOW = datetime(2026, 11, 26, 10, 10, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Item:
    kind: str
    incident_number: int | None
    severity: str = "SEV3"


def _urgent(item: Item) -> bool:
    return item.severity in ("SEV1", "SEV2")


def _sent(kind: str, count: int) -> list[Sent]:
    return [Sent(at=NOW - timedelta(minutes=10 - i), kind=kind) for i in range(count)]


def test_a_code_goes_at_once_through_a_window_full_of_pages() -> None:
    code = Item("code", None)
    decided = plan([code], urgent=_urgent, sent=_sent("page", 5), limit=5, window=WINDOW, now=NOW)
    assert decided.messages == [[code]] and decided.waiting == []


def test_a_code_goes_alone_after_the_pages_due_with_it() -> None:
    code, sev1, low = Item("code", None), Item("page", 9, "SEV1"), Item("page", 4)
    decided = plan([code, sev1, low], urgent=_urgent, sent=[], limit=5, window=WINDOW, now=NOW)
    assert decided.messages == [[sev1, low], [code]]


def test_codes_sent_count_against_no_page_and_no_notice() -> None:
    low, notice = Item("page", 4), Item("resolved", 7)
    decided = plan(
        [low, notice], urgent=_urgent, sent=_sent("code", 5), limit=5, window=WINDOW, now=NOW
    )
    assert decided.messages == [[low], [notice]] and decided.waiting == []


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
