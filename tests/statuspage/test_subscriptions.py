"""Following the status page by SMS (double opt-in through the fake Twilio,
STOP honoured) and by webhook (signed per subscriber, Statuspage's shapes),
per component, and what an admin sees of the subscribers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from app.clock import ManualClock
from app.statuspage.summary import public_id
from tests.fakes.executor import FakeExecutor
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import Paging, checkout_alert, open_incident, serve_paging
from tests.statuspage.conftest import public_update, publish, report

FAN = "+15551239001"
OTHER = "+15551239002"
CHECKOUT = public_id("component", "checkout")
STORAGE = public_id("component", "storage")


@contextlib.asynccontextmanager
async def status_klaxon(
    db: str, fake: FakeTwilio, clock: ManualClock, status_rules: Path, **overrides: Any
) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake, clock, config=status_rules, **overrides) as paging:
        yield paging


async def subscribe_sms(paging: Paging, phone: str, components: list[str] | None = None) -> None:
    resp = await paging.api.post(
        "/status/api/v2/subscribers/sms",
        json={"phone": phone, "components": components or []},
        headers={"Authorization": ""},
    )
    assert resp.status_code == 202, resp.text


async def test_sms_subscriber_confirms_with_yes_gets_updates_and_stop_ends_them(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path
) -> None:
    async with status_klaxon(db, fake_twilio, clock, status_rules) as paging:
        await subscribe_sms(paging, FAN)
        await paging.tick()
        assert len(paging.texts_to(FAN)) == 1
        assert "reply YES" in paging.texts_to(FAN)[0]

        number = await report(paging.api)
        await publish(paging.api, number, components={"checkout": "major_outage"})
        await paging.tick()
        assert len(paging.texts_to(FAN)) == 1, "nothing before the number confirmed"

        answer = await paging.sms_reply(FAN, "yes")
        assert "subscribed" in answer.text
        await public_update(paging.api, number, "identified", "A bad deploy; rolling back.")
        await paging.tick(seconds=1)
        texts = paging.texts_to(FAN)
        assert len(texts) == 2
        assert (
            texts[-1] == "Example Status: Slow checkout - Identified: A bad deploy; rolling back."
        )
        assert "Internal title" not in texts[-1]

        answer = await paging.sms_reply(FAN, "STOP")
        assert "unsubscribed" in answer.text
        await public_update(paging.api, number, "resolved", "All good.")
        await paging.tick(seconds=1)
        assert len(paging.texts_to(FAN)) == 2


async def test_sms_subscriber_of_one_component_hears_only_of_incidents_holding_it(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path
) -> None:
    async with status_klaxon(db, fake_twilio, clock, status_rules) as paging:
        await subscribe_sms(paging, FAN, [STORAGE])
        await subscribe_sms(paging, OTHER)
        await paging.tick()
        await paging.sms_reply(FAN, "YES")
        await paging.sms_reply(OTHER, "YES")
        number = await report(paging.api)
        await publish(paging.api, number, components={"checkout": "partial_outage"})
        await paging.tick(seconds=1)
        assert len(paging.texts_to(FAN)) == 1  # the confirmation only
        assert len(paging.texts_to(OTHER)) == 2
        second = await report(paging.api, service="storage")
        await publish(
            paging.api, second, name="Slow uploads", components={"storage": "degraded_performance"}
        )
        await paging.tick(seconds=1)
        assert paging.texts_to(FAN)[-1].startswith("Example Status: Slow uploads - Investigating")


async def test_subscribing_again_sends_no_second_confirmation_and_answers_alike(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path
) -> None:
    async with status_klaxon(db, fake_twilio, clock, status_rules) as paging:
        answers = []
        for _ in range(3):
            resp = await paging.api.post(
                "/status/api/v2/subscribers/sms", json={"phone": FAN}, headers={"Authorization": ""}
            )
            answers.append((resp.status_code, resp.json()))
        await paging.tick()
        assert len(paging.texts_to(FAN)) == 1
        assert answers[0] == answers[1] == answers[2]
        await paging.sms_reply(FAN, "YES")
        resp = await paging.api.post(
            "/status/api/v2/subscribers/sms", json={"phone": FAN}, headers={"Authorization": ""}
        )
        assert (resp.status_code, resp.json()) == answers[0]  # a follower is not told apart
        await paging.tick(minutes=120)
        assert len(paging.texts_to(FAN)) == 1


async def test_subscriptions_beyond_the_hourly_limit_are_refused_with_429(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path
) -> None:
    async with status_klaxon(
        db, fake_twilio, clock, status_rules, status_subscriptions_per_hour=2
    ) as paging:
        await subscribe_sms(paging, FAN)
        await subscribe_sms(paging, OTHER)
        resp = await paging.api.post(
            "/status/api/v2/subscribers/sms",
            json={"phone": "+15551239003"},
            headers={"Authorization": ""},
        )
        assert resp.status_code == 429, resp.text
        assert "within the hour" in resp.json()["detail"]
        clock.advance(minutes=61)
        await subscribe_sms(paging, "+15551239003")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"phone": "5551239001"}, "phone"),
        ({"phone": "+1555"}, "phone"),
        ({"phone": FAN, "components": ["nosuchcomponent"]}, "components"),
        ({"phone": FAN, "extra": 1}, "extra"),
    ],
)
async def test_bad_sms_subscriptions_get_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    resp = await client.post(
        "/status/api/v2/subscribers/sms", json=body, headers={"Authorization": ""}
    )
    assert resp.status_code == 422, resp.text
    assert named in resp.text


async def test_a_page_is_claimed_before_a_backlog_of_subscriber_texts(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path
) -> None:
    """Four subscriber texts are queued before a SEV1 page; with room for two
    per claim, the page goes in the first claim, the texts after it."""
    async with status_klaxon(db, fake_twilio, clock, status_rules, engine_batch=2) as paging:
        fans = [f"+1555123910{i}" for i in range(4)]
        for fan in fans:
            await subscribe_sms(paging, fan)
        number = await report(paging.api, severity="SEV4")
        await paging.tick()
        for fan in fans:
            await paging.sms_reply(fan, "YES")
        await publish(paging.api, number, components={"checkout": "degraded_performance"})
        await open_incident(paging, checkout_alert("c0ffee00000000f1"))
        mark = len(fake_twilio.messages)
        await paging.tick()
        sent = [m["to"] for m in fake_twilio.messages[mark:]]
        assert len(sent) == 5, sent
        assert any(to not in fans for to in sent[:2]), f"the page waited behind notices: {sent}"
        assert all(len(paging.texts_to(fan)) == 2 for fan in fans)


@pytest.fixture
async def receiver() -> AsyncIterator[FakeExecutor]:
    async with FakeExecutor(answer="") as running:
        yield running


async def subscribe_hook(
    paging: Paging, url: str, components: list[str] | None = None
) -> dict[str, Any]:
    resp = await paging.api.post(
        "/status/api/v2/subscribers/webhook",
        json={"url": url, "components": components or []},
        headers={"Authorization": ""},
    )
    assert resp.status_code == 201, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


async def test_webhook_subscriber_gets_signed_statuspage_shaped_updates_until_unsubscribed(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path, receiver: FakeExecutor
) -> None:
    async with status_klaxon(
        db, fake_twilio, clock, status_rules, status_webhook_hosts=receiver.host
    ) as paging:
        made = await subscribe_hook(paging, f"{receiver.url}/hooks/status")
        assert made["secret"].startswith("whsec_")
        number = await report(paging.api)
        await publish(paging.api, number, components={"checkout": "major_outage"})
        await paging.tick()
        bodies = [Webhook(made["secret"]).verify(r.body, r.headers) for r in receiver.requests]
        incident = next(b for b in bodies if "incident" in b)
        component = next(b for b in bodies if "component_update" in b)
        assert len(bodies) == 2
        assert incident["meta"]["unsubscribe"] == made["unsubscribe"]
        assert incident["page"]["status_indicator"] == "critical"
        assert incident["incident"]["name"] == "Slow checkout"
        assert incident["incident"]["incident_updates"][0]["affected_components"] == [
            {
                "code": CHECKOUT,
                "name": "Checkout",
                "old_status": "operational",
                "new_status": "major_outage",
            }
        ]
        assert component["component_update"]["old_status"] == "operational"
        assert component["component_update"]["new_status"] == "major_outage"
        assert component["component"] == {
            "created_at": component["component"]["created_at"],
            "id": CHECKOUT,
            "name": "Checkout",
            "status": "major_outage",
        }
        assert "Internal title" not in str(bodies)

        path = "/status/api/v2/subscribers/" + made["unsubscribe"].rsplit("/", 1)[1]
        gone = await paging.api.delete(path, headers={"Authorization": ""})
        assert gone.status_code == 204
        await public_update(paging.api, number, "resolved", "Fixed.")
        await paging.tick(seconds=1)
        assert len(receiver.requests) == 2
        again = await paging.api.delete(path, headers={"Authorization": ""})
        assert again.status_code == 404


async def test_webhook_for_another_component_gets_only_its_component_updates(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, status_rules: Path, receiver: FakeExecutor
) -> None:
    async with status_klaxon(
        db, fake_twilio, clock, status_rules, status_webhook_hosts=receiver.host
    ) as paging:
        await subscribe_hook(paging, f"{receiver.url}/storage", [STORAGE])
        number = await report(paging.api)
        await publish(paging.api, number, components={"checkout": "major_outage"})
        await paging.tick()
        assert receiver.requests == []
        await public_update(
            paging.api,
            number,
            "identified",
            "Storage too.",
            components={"storage": "partial_outage"},
        )
        await paging.tick(seconds=1)
        kinds = sorted(sorted(r.json()) for r in receiver.requests)
        assert kinds == [
            ["component", "component_update", "meta", "page"],
            ["incident", "meta", "page"],
        ]
        component = next(r.json() for r in receiver.requests if "component" in r.json())
        assert component["component"]["id"] == STORAGE


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://93.184.215.14/hook", "must be https"),
        ("https://127.0.0.1/hook", "not a public address"),
        ("https://10.1.2.3/hook", "not a public address"),
        ("https://169.254.169.254/latest", "not a public address"),
        ("https://[::1]/hook", "not a public address"),
        ("https://[::ffff:127.0.0.1]/hook", "not a public address"),
        ("https://localhost/hook", "not a public address"),
        ("https://user:pw@93.184.215.14/hook", "user name or password"),
        ("ftp://93.184.215.14/hook", "absolute https URL"),
    ],
)
async def test_webhook_urls_inside_the_network_are_refused(
    client: httpx.AsyncClient, url: str, why: str
) -> None:
    resp = await client.post(
        "/status/api/v2/subscribers/webhook", json={"url": url}, headers={"Authorization": ""}
    )
    assert resp.status_code == 422, resp.text
    assert why in resp.json()["detail"]


async def test_webhook_on_a_public_address_is_accepted_and_once_only(
    client: httpx.AsyncClient,
) -> None:
    url = "https://93.184.215.14/hook"
    first = await client.post(
        "/status/api/v2/subscribers/webhook", json={"url": url}, headers={"Authorization": ""}
    )
    assert first.status_code == 201, first.text
    second = await client.post(
        "/status/api/v2/subscribers/webhook", json={"url": url}, headers={"Authorization": ""}
    )
    assert second.status_code == 409, second.text


async def test_admin_lists_subscribers_masked_and_removes_them_and_the_page_shows_none(
    client: httpx.AsyncClient,
) -> None:
    for phone in (FAN, OTHER):
        resp = await client.post("/status/api/v2/subscribers/sms", json={"phone": phone})
        assert resp.status_code == 202, resp.text
    listed = (await client.get("/api/v1/status/subscribers")).json()
    assert [(s["channel"], s["state"]) for s in listed] == [("sms", "pending"), ("sms", "pending")]
    assert FAN not in str(listed) and FAN[-4:] in str(listed)
    for path in ("/status", "/status/api/v2/summary.json", "/status/history.atom"):
        page = await client.get(path, headers={"Authorization": ""})
        assert FAN[2:] not in page.text
    gone = await client.delete(f"/api/v1/status/subscribers/{listed[0]['id']}")
    assert gone.status_code == 204
    assert len((await client.get("/api/v1/status/subscribers")).json()) == 1
    again = await client.delete(f"/api/v1/status/subscribers/{listed[0]['id']}")
    assert again.status_code == 404
