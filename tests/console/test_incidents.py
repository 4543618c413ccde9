"""The incident pages without JavaScript: plain forms that POST and redirect
back. Acknowledging from the console stops the SMS escalation exactly as the
API does, recorded with the signed-in responder as the actor."""

from __future__ import annotations

import re

from tests.console.helpers import console_client, csrf_of, sign_in
from tests.paging import ALICE, BOB, CAROL, Paging, checkout_alert, incident_detail, open_incident

LISTED = re.compile(r'data-number="(\d+)"')


def listed(html: str) -> list[int]:
    return [int(n) for n in LISTED.findall(html)]


async def test_acknowledge_from_the_incident_page_stops_the_escalation(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert len(paging.texts_to(ALICE)) == 1  # the page
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get(f"/incidents/{number}")
        assert page.status_code == 200 and "Acknowledge" in page.text
        acked = await client.post(
            f"/incidents/{number}/acknowledge",
            data={"csrf": csrf_of(page), "back": f"/incidents/{number}"},
        )
        assert acked.status_code == 303
        assert acked.headers["location"] == f"/incidents/{number}?notice=acknowledged"
        after = await client.get(acked.headers["location"])
        assert "Acknowledged: paging stopped." in after.text
        assert "Acknowledged by alice via console" in after.text
    await paging.tick(minutes=30)
    assert paging.texts_to(BOB) == [] and paging.calls_to(BOB) == []
    detail = await incident_detail(paging, number)
    assert detail["status"] == "acknowledged" and detail["acknowledged_by"] == "alice"


async def test_the_list_shows_open_incidents_by_severity_then_age(paging: Paging) -> None:
    warning = await open_incident(paging, checkout_alert("f1", severity="warning"))
    paging.clock.advance(minutes=1)
    critical_old = await open_incident(paging, checkout_alert("f2"))
    paging.clock.advance(minutes=1)
    critical_new = await open_incident(paging, checkout_alert("f3"))
    resolved = await open_incident(paging, checkout_alert("f4"))
    await paging.api.post(f"/api/v1/incidents/{resolved}/resolve")
    async with console_client(paging) as client:
        await sign_in(client, paging, CAROL)
        page = await client.get("/")
        assert listed(page.text) == [critical_old, critical_new, warning]
        only_resolved = await client.get("/", params={"status": "resolved"})
        assert listed(only_resolved.text) == [resolved]
        sev = (await incident_detail(paging, warning))["severity"]
        by_severity = await client.get("/", params={"severity": sev})
        assert listed(by_severity.text) == [warning]
        other_service = await client.get("/", params={"service": "search"})
        assert listed(other_service.text) == []


async def test_mine_lists_the_incidents_i_was_paged_for(paging: Paging) -> None:
    paged = await open_incident(paging, checkout_alert("f1"))
    await paging.tick()  # alice is paged for it
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        assert listed((await client.get("/", params={"mine": "1"})).text) == [paged]
    async with console_client(paging) as client:
        await sign_in(client, paging, CAROL)
        assert listed((await client.get("/", params={"mine": "1"})).text) == []


async def test_bulk_acknowledge_acknowledges_the_checked_incidents(paging: Paging) -> None:
    first = await open_incident(paging, checkout_alert("f1"))
    second = await open_incident(paging, checkout_alert("f2"))
    third = await open_incident(paging, checkout_alert("f3"))
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get("/")
        answer = await client.post(
            "/incidents/acknowledge",
            data={"csrf": csrf_of(page), "back": "/", "number": [str(first), str(third)]},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/?notice=acknowledged"
        nothing = await client.post("/incidents/acknowledge", data={"csrf": csrf_of(page)})
        assert nothing.headers["location"] == "/?notice=none-selected"
    statuses = [(await incident_detail(paging, n))["status"] for n in (first, second, third)]
    assert statuses == ["acknowledged", "triggered", "acknowledged"]


async def test_resolve_from_the_console_and_acknowledging_it_after_says_so(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get(f"/incidents/{number}")
        form = {"csrf": csrf_of(page), "back": f"/incidents/{number}"}
        resolved = await client.post(f"/incidents/{number}/resolve", data=form)
        assert resolved.headers["location"].endswith("notice=resolved")
        late = await client.post(f"/incidents/{number}/acknowledge", data=form)
        assert late.headers["location"].endswith("notice=already-resolved")
        gone = await client.get("/incidents/999999")
        assert gone.status_code == 404 and "no incident #999999" in gone.text
    detail = await incident_detail(paging, number)
    assert detail["status"] == "resolved" and detail["resolved_by"] == "alice"


async def test_on_call_now_shows_each_schedules_responder_and_the_next(paging: Paging) -> None:
    # The clock stands at 2026-11-26 12:00 UTC: carol's nights (00:00-06:00 UTC)
    # are ahead; alice alone takes every week of checkout-primary.
    async with console_client(paging) as client:
        await sign_in(client, paging, CAROL)
        page = await client.get("/oncall")
    cards = re.findall(r'data-schedule="([^"]+)">(.*?)</li>', page.text, re.S)
    by_name = {name: " ".join(body.split()) for name, body in cards}
    assert set(by_name) == {"checkout-primary", "checkout-secondary", "nights-only"}
    assert 'Now: <strong class="now"><bdi>alice</bdi>' in by_name["checkout-primary"]
    assert "No handoff ahead." in by_name["checkout-primary"]
    assert 'Now: <strong class="now"><bdi>nobody</bdi>' in by_name["nights-only"]
    assert "2026-11-27 00:00 UTC" in by_name["nights-only"]  # in carol's zone, UTC
    assert 'then <strong class="next"><bdi>carol</bdi>' in by_name["nights-only"]
