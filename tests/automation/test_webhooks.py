"""Outgoing webhooks: incident events, signed, one delivery per event and
subscriber, from the rules file or subscribed through the API (admin)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.clock import ManualClock
from tests.automation.harness import serve_automation, verified
from tests.fakes.executor import FakeExecutor, Received
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import checkout_alert, open_incident

FP = "c0ffee0000000002"


@pytest.fixture
async def receiver() -> AsyncIterator[FakeExecutor]:
    async with FakeExecutor(answer="") as running:
        yield running


def hooks_to(receiver: FakeExecutor, path: str) -> list[Received]:
    return [r for r in receiver.requests if r.path == path]


def events_of(requests: list[Received]) -> list[tuple[str, Any]]:
    return [(verified(r)["type"], verified(r)["data"]["incident"]["status"]) for r in requests]


def rules_webhook(receiver: FakeExecutor) -> str:
    return f"""webhooks:
  - url: {receiver.url}/hooks/rules
    events: [incident.opened, incident.acknowledged, incident.resolved]
"""


async def serve(
    db: str, fake: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> Any:
    return serve_automation(db, fake, clock, tmp_path, receiver, extra=rules_webhook(receiver))


async def test_rules_file_webhook_gets_each_event_once_signed(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> None:
    async with await serve(db, fake_twilio, clock, tmp_path, receiver) as paging:
        number = await open_incident(paging, checkout_alert(FP))
        await paging.tick()
        resp = await paging.api.post(f"/api/v1/incidents/{number}/acknowledge", json={})
        assert resp.status_code == 200, resp.text
        await paging.tick(seconds=1)
        resp = await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={})
        assert resp.status_code == 200, resp.text
        for _ in range(3):
            await paging.tick(minutes=1)
        hooks = hooks_to(receiver, "/hooks/rules")
        assert events_of(hooks) == [
            ("incident.opened", "triggered"),
            ("incident.acknowledged", "acknowledged"),
            ("incident.resolved", "resolved"),
        ]
        ids = [r.headers["webhook-id"] for r in hooks]
        assert len(set(ids)) == 3 and all(i.startswith("klaxon-event-") for i in ids)
        assert verified(hooks[0])["data"]["incident"]["number"] == number


async def test_api_subscription_needs_an_allowed_host_and_known_events(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> None:
    async with await serve(db, fake_twilio, clock, tmp_path, receiver) as paging:
        path = "/api/v1/webhooks/subscriptions"
        outside = {"url": "https://elsewhere.example/hook", "events": ["incident.opened"]}
        resp = await paging.api.post(path, json=outside)
        assert resp.status_code == 400
        assert "'https://elsewhere.example/hook' is not in automation.allowed_hosts" in resp.text
        unknown = {"url": f"{receiver.url}/hooks/api", "events": ["incident.exploded"]}
        resp = await paging.api.post(path, json=unknown)
        assert resp.status_code == 422
        assert "unknown event 'incident.exploded'" in resp.text
        listed = (await paging.api.get(path)).json()
        assert [(s["source"], s["url"]) for s in listed] == [
            ("rules", f"{receiver.url}/hooks/rules")
        ]


async def test_api_subscription_gets_status_updates_until_removed(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> None:
    async with await serve(db, fake_twilio, clock, tmp_path, receiver) as paging:
        path = "/api/v1/webhooks/subscriptions"
        wanted = {"url": f"{receiver.url}/hooks/api", "events": ["incident.status_update"]}
        resp = await paging.api.post(path, json=wanted)
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert (created["source"], created["events"]) == ("api", ["incident.status_update"])
        number = await open_incident(paging, checkout_alert(FP))
        update = {"phase": "investigating", "message": "Looking at the payment gateway"}
        resp = await paging.api.post(f"/api/v1/incidents/{number}/updates", json=update)
        assert resp.status_code == 201, resp.text
        await paging.tick()
        await paging.tick(seconds=1)
        assert events_of(hooks_to(receiver, "/hooks/api")) == [
            ("incident.status_update", "triggered")
        ]
        resp = await paging.api.delete(f"{path}/{created['id']}")
        assert resp.status_code == 204
        resp = await paging.api.post(f"/api/v1/incidents/{number}/updates", json=update)
        assert resp.status_code == 201, resp.text
        await paging.tick(minutes=1)
        assert len(hooks_to(receiver, "/hooks/api")) == 1
        assert (await paging.api.delete(f"{path}/{created['id']}")).status_code == 404


async def test_role_changes_are_sent_to_their_subscribers(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> None:
    async with await serve(db, fake_twilio, clock, tmp_path, receiver) as paging:
        path = "/api/v1/webhooks/subscriptions"
        wanted = {"url": f"{receiver.url}/hooks/roles", "events": ["incident.role_changed"]}
        resp = await paging.api.post(path, json=wanted)
        assert resp.status_code == 201, resp.text
        number = await open_incident(paging, checkout_alert(FP))
        roles = f"/api/v1/incidents/{number}/roles"
        for change in (
            paging.api.put(f"{roles}/commander", json={"responder": "bob", "by": "carol"}),
            paging.api.put(f"{roles}/commander", json={"responder": "alice"}),
            paging.api.delete(f"{roles}/commander"),
        ):
            resp = await change
            assert resp.status_code == 200, resp.text
        await paging.tick()
        await paging.tick(seconds=1)
        hooks = hooks_to(receiver, "/hooks/roles")
        bodies = [verified(hook) for hook in hooks]  # signatures checked by standardwebhooks
        assert [body["type"] for body in bodies] == ["incident.role_changed"] * 3
        assert [body["data"]["role"] for body in bodies] == [
            {"role": "commander", "from": None, "to": "bob"},
            {"role": "commander", "from": "bob", "to": "alice"},
            {"role": "commander", "from": "alice", "to": None},
        ]
        assert bodies[0]["data"]["event"]["actor"] == "carol"
        assert bodies[0]["data"]["incident"]["number"] == number
        # The rules file's webhook did not subscribe to role changes.
        assert events_of(hooks_to(receiver, "/hooks/rules")) == [("incident.opened", "triggered")]


async def test_the_past_is_not_sent_to_a_later_subscriber(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, tmp_path: Path, receiver: FakeExecutor
) -> None:
    """While nobody listens the worker only moves the mark along (one statement
    a pass, app/automation/webhooks.py ``pass_unheard``): an incident opened
    then is not sent to a subscription made later; one opened after it is."""
    async with serve_automation(db, fake_twilio, clock, tmp_path, receiver) as paging:
        before = await open_incident(paging, checkout_alert(FP))
        await paging.tick()
        path = "/api/v1/webhooks/subscriptions"
        wanted = {"url": f"{receiver.url}/hooks/api", "events": ["incident.opened"]}
        resp = await paging.api.post(path, json=wanted)
        assert resp.status_code == 201, resp.text
        after = await open_incident(paging, checkout_alert("c0ffee0000000003"))
        await paging.tick()
        await paging.tick(seconds=1)
        sent = [verified(r)["data"]["incident"]["number"] for r in hooks_to(receiver, "/hooks/api")]
        assert sent == [after], f"#{before} was opened before the subscription"
