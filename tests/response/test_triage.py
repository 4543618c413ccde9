"""Triage: the fields responders fill in, notes, added responders, and the
timeline that records each of them."""

from __future__ import annotations

import httpx

from app.clock import ManualClock
from tests.paging import ALICE, BOB, Paging, checkout_alert, open_incident
from tests.response.helpers import kinds, patch, report, timeline


async def test_triage_fields_are_set_shown_and_each_change_is_on_the_timeline(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    clock.advance(minutes=3)
    detail = await patch(
        client,
        number,
        impact="50% of payment requests failing",
        affected_customers=200,
        affected_services=["payments", "checkout", "payments"],
        started_at="2026-11-26T11:40:00+01:00",
        recent_changes="Deploy #5678 of payments-api at 10:35",
        workaround="Customers can pay by invoice",
        by="alice",
    )
    assert detail["impact"] == "50% of payment requests failing"
    assert detail["affected_customers"] == 200
    assert detail["affected_services"] == ["payments", "checkout"]
    assert detail["started_at"] == "2026-11-26T10:40:00Z", "corrected earlier than detection"
    assert detail["created_at"] == "2026-11-26T12:00:00Z"
    assert detail["recent_changes"] == "Deploy #5678 of payments-api at 10:35"
    assert detail["workaround"] == "Customers can pay by invoice"
    triage = [e for e in await timeline(client, number) if e["kind"] == "triage"]
    assert [e["message"] for e in triage] == [
        "Affected customers: 200",
        "Affected services: payments, checkout",
        "Impact: 50% of payment requests failing",
        "Recent changes: Deploy #5678 of payments-api at 10:35",
        "Start of impact set to 2026-11-26 10:40 UTC",
        "Workaround: Customers can pay by invoice",
    ]
    assert {e["actor"] for e in triage} == {"alice"}
    assert {e["at"] for e in triage} == {"2026-11-26T12:03:00Z"}


async def test_setting_the_same_value_again_records_nothing(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    await patch(client, number, impact="slow")
    before = await timeline(client, number)
    await patch(client, number, impact="slow")
    assert await timeline(client, number) == before


async def test_null_clears_a_field_and_omitted_fields_stay(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    await patch(client, number, impact="slow", workaround="retry")
    detail = await patch(client, number, impact=None)
    assert detail["impact"] is None
    assert detail["workaround"] == "retry"
    assert (await timeline(client, number))[-1]["message"] == "Impact cleared"


async def test_severity_and_title_changes_are_on_the_timeline_with_who(
    client: httpx.AsyncClient,
) -> None:
    number = (await report(client, severity="SEV3"))["number"]
    detail = await patch(client, number, severity="SEV1", title="Payments down", by="alice")
    assert (detail["severity"], detail["title"]) == ("SEV1", "Payments down")
    events = await timeline(client, number)
    change = next(e for e in events if e["kind"] == "severity_changed")
    assert change["message"] == "Severity changed from SEV3 to SEV1"
    assert change["actor"] == "alice"
    assert any(e["message"] == "Title changed to: Payments down" for e in events)
    cleared = await client.patch(f"/api/v1/incidents/{number}", json={"severity": None})
    assert cleared.status_code == 422


async def test_a_start_after_detection_is_refused(client: httpx.AsyncClient) -> None:
    number = (await report(client))["number"]
    resp = await client.patch(
        f"/api/v1/incidents/{number}", json={"started_at": "2026-11-26T12:30:00Z"}
    )
    assert resp.status_code == 400
    assert "only move earlier" in resp.json()["detail"]
    naive = await client.patch(
        f"/api/v1/incidents/{number}", json={"started_at": "2026-11-26T11:30:00"}
    )
    assert naive.status_code == 422, "a start needs its UTC offset"


async def test_triage_of_an_unknown_incident_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.patch("/api/v1/incidents/99", json={"impact": "x"})).status_code == 404
    assert (await client.get("/api/v1/incidents/99/timeline")).status_code == 404
    resp = await client.post("/api/v1/incidents/99/notes", json={"text": "x"})
    assert resp.status_code == 404


async def test_notes_go_on_the_timeline_in_order(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    number = (await report(client))["number"]
    clock.advance(minutes=1)
    first = await client.post(
        f"/api/v1/incidents/{number}/notes", json={"text": "Error rate started at 11:40"}
    )
    assert first.status_code == 201
    assert first.json() == {
        "at": "2026-11-26T12:01:00Z",
        "kind": "note",
        "actor": "admin",
        "message": "Error rate started at 11:40",
        "data": {},
        "happened_at": None,
    }
    clock.advance(minutes=1)
    await client.post(
        f"/api/v1/incidents/{number}/notes", json={"text": "Rolling back", "by": "bob"}
    )
    events = await timeline(client, number)
    assert kinds(events) == ["triggered", "escalation_started", "note", "note"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert events[-1]["actor"] == "bob"


async def test_adding_a_responder_pages_them_by_sms_and_voice_now(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    resp = await paging.api.post(
        f"/api/v1/incidents/{number}/responders", json={"responder": "bob", "by": "alice"}
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"incident": number, "responder": "bob", "channels": ["sms", "voice"]}
    await paging.tick()
    [sms] = paging.texts_to(BOB)
    assert sms.startswith(f"[Klaxon] SEV2 #{number} checkout errors (checkout)")
    assert len(paging.calls_to(BOB)) == 1
    events = await timeline(paging.api, number)
    added = next(e for e in events if e["kind"] == "responder_added")
    assert added["message"] == "bob added as a responder; paging by sms and voice"
    assert added["actor"] == "alice"
    # His reply acknowledges the incident he was brought into.
    reply = await paging.sms_reply(BOB, "A")
    assert f"#{number} acknowledged" in reply.text


async def test_a_responder_added_after_the_ack_is_still_paged(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    await paging.sms_reply(ALICE, f"{number}A")
    resp = await paging.api.post(
        f"/api/v1/incidents/{number}/responders", json={"responder": "bob"}
    )
    assert resp.status_code == 202
    await paging.tick()
    assert len(paging.texts_to(BOB)) == 1
    assert len(paging.calls_to(BOB)) == 1
    # ...and the escalation stays stopped: nothing more after its delay.
    await paging.tick(minutes=30)
    assert len(paging.texts_to(BOB)) == 1
    assert len(paging.calls_to(BOB)) == 1


async def test_adding_twice_does_not_double_a_waiting_page(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    url = f"/api/v1/incidents/{number}/responders"
    first = await paging.api.post(url, json={"responder": "bob"})
    second = await paging.api.post(url, json={"responder": "bob"})
    assert first.json()["channels"] == ["sms", "voice"]
    assert second.json()["channels"] == []
    await paging.tick()
    assert len(paging.calls_to(BOB)) == 1


async def test_adding_an_unknown_responder_or_to_a_resolved_incident_fails(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    url = f"/api/v1/incidents/{number}/responders"
    unknown = await paging.api.post(url, json={"responder": "mallory"})
    assert unknown.status_code == 404
    await paging.api.post(f"/api/v1/incidents/{number}/resolve")
    resolved = await paging.api.post(url, json={"responder": "bob"})
    assert resolved.status_code == 409
