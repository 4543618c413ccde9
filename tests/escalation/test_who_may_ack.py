"""Who may acknowledge or resolve from a phone, read as a phone sees it: any
responder (one not paged for the incident is named so on the timeline), or, with
the policy's ``ack: paged-only``, only those paged for it; API tokens always."""

from __future__ import annotations

from tests.escalation.helpers import bare_checkout_alert, sms_said, timeline_messages
from tests.paging import ALICE, BOB, ONCALL, Paging, open_incident


async def _status(paging: Paging, number: int) -> str:
    status: str = (await paging.api.get(f"/api/v1/incidents/{number}")).json()["status"]
    return status


async def test_a_responder_not_paged_may_acknowledge_and_the_timeline_says_so(
    paging: Paging,
) -> None:
    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()  # alice is paged; bob would be in 5 minutes
    reply = await paging.sms_reply(BOB, f"{number}A")
    assert sms_said(reply) == f"#{number} acknowledged"
    assert await _status(paging, number) == "acknowledged"
    assert f"Acknowledged by bob (not paged for #{number}) via sms" in await timeline_messages(
        paging, number
    )


async def _paged_only(paging: Paging) -> None:
    [policy] = [p for p in ONCALL["policies"] if p["name"] == "checkout-oncall"]
    body = {"steps": policy["steps"], "ack": "paged-only"}
    resp = await paging.api.put("/api/v1/escalation-policies/checkout-oncall", json=body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["ack"] == "paged-only"


async def test_paged_only_refuses_a_responder_not_paged_and_changes_nothing(
    paging: Paging,
) -> None:
    await _paged_only(paging)
    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()
    refusal = (
        f"#{number} unchanged: escalation policy checkout-oncall lets only responders paged"
        " for it acknowledge or resolve it"
    )
    for text in (f"{number}A", f"{number}R", f"ack {number}"):
        assert sms_said(await paging.sms_reply(BOB, text)) == refusal, text
    assert await _status(paging, number) == "triggered"
    assert not any("bob" in m for m in await timeline_messages(paging, number))

    # alice was paged: her acknowledgement counts, and reads as usual.
    assert sms_said(await paging.sms_reply(ALICE, f"{number}A")) == f"#{number} acknowledged"
    assert "Acknowledged by alice via sms" in await timeline_messages(paging, number)


async def test_paged_only_leaves_api_tokens_free_to_act(paging: Paging) -> None:
    await _paged_only(paging)
    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()
    created = await paging.api.post("/api/v1/tokens", json={"name": "bot", "scope": "write"})
    token = created.json()["token"]
    resp = await paging.api.post(
        f"/api/v1/incidents/{number}/resolve",
        json={"by": "ci-bot"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    assert await _status(paging, number) == "resolved"


async def test_paged_only_after_being_paged_lets_the_secondary_act(paging: Paging) -> None:
    await _paged_only(paging)
    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()
    await paging.tick(minutes=5)  # bob, the secondary, is paged now
    assert sms_said(await paging.sms_reply(BOB, f"{number}R")) == f"#{number} resolved"
    assert await _status(paging, number) == "resolved"
