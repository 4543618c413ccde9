"""Replayed callbacks: a signed text or keypress acts once, and a bare reply
acts only on a recent page.

Twilio repeats a webhook's ``I-Twilio-Idempotency-Token`` on each retry; whoever
captured a signed request can send it again, with that header or without it
(the signature does not cover headers). Neither acts twice.
"""

from __future__ import annotations

from typing import Any

from tests.helpers import am_alert, am_payload, told
from tests.paging import ALICE, BOB, Paging


def _alert(fp: str) -> dict[str, Any]:
    alert = am_alert(fp, service="checkout", severity="critical", annotations={"summary": fp})
    return am_payload([alert], group_key=f"{{}}:{{checkout={fp}}}")


async def _open(paging: Paging, fp: str) -> int:
    resp = await paging.api.post("/api/v1/webhooks/alertmanager", json=_alert(fp))
    assert resp.status_code == 200, resp.text
    number: int = resp.json()["incidents"][0]
    return number


async def _status(paging: Paging, number: int) -> str:
    status: str = (await paging.api.get(f"/api/v1/incidents/{number}")).json()["status"]
    return status


async def test_a_replayed_bare_a_does_not_act_on_the_latest_page_of_then(paging: Paging) -> None:
    first = await _open(paging, "replay0000000001")
    await paging.tick()
    answered = await paging.sms_reply(ALICE, "A")
    assert told(answered.text) == f"#{first} acknowledged"
    captured = paging.fake.webhooks[-1]
    await paging.api.post(f"/api/v1/incidents/{first}/resolve", json={"by": "alice"})

    second = await _open(paging, "replay0000000002")
    await paging.tick()
    assert any(t.startswith(f"[Klaxon] SEV2 #{second} ") for t in paging.texts_to(ALICE))
    # Twilio's retry (same token), then a replay without the header, then one
    # with a made-up token: still validly signed, each answered with nothing.
    for token in (None, "", "made-up-token"):
        replayed = await paging.fake.resend(captured, idempotency_token=token)
        assert replayed.status_code == 200, replayed.text
        assert told(replayed.text) is None, token
    assert await _status(paging, second) == "triggered"
    timeline = (await paging.api.get(f"/api/v1/incidents/{second}")).json()["timeline"]
    assert "acknowledged" not in [e["kind"] for e in timeline]


async def test_a_retried_numbered_reply_acts_once(paging: Paging) -> None:
    number = await _open(paging, "replay0000000003")
    await paging.tick()
    assert told((await paging.sms_reply(ALICE, f"{number}A")).text) == f"#{number} acknowledged"
    captured = paging.fake.webhooks[-1]
    assert captured.idempotency_token, "the fake sends Twilio's idempotency token"
    resolved = await paging.sms_reply(ALICE, f"{number}R")
    assert told(resolved.text) == f"#{number} resolved"
    retried = await paging.fake.resend(captured)
    assert (retried.status_code, told(retried.text)) == (200, None)
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert detail["status"] == "resolved"
    assert [e["kind"] for e in detail["timeline"]].count("acknowledged") == 1


async def test_a_replayed_keypress_acts_once(paging: Paging) -> None:
    number = await _open(paging, "replay0000000004")
    await paging.tick()
    await paging.tick(minutes=5)
    [call] = paging.calls_to(BOB)
    said = await paging.fake.answer_call(call["sid"], "4")
    assert said[-1].count(f"Incident {number} acknowledged") == 1
    pressed = paging.fake.webhooks[-1]
    assert pressed.params["Digits"] == "4"
    await paging.api.post(f"/api/v1/incidents/{number}/resolve", json={"by": "alice"})
    for token in (None, ""):
        replayed = await paging.fake.resend(pressed, idempotency_token=token)
        assert replayed.status_code == 200
        assert told(replayed.text) == "Your choice was already taken. Goodbye."
    timeline = (await paging.api.get(f"/api/v1/incidents/{number}")).json()["timeline"]
    assert [e["kind"] for e in timeline].count("acknowledged") == 1


async def test_a_callback_seen_two_days_ago_is_forgotten(paging: Paging) -> None:
    """The memory is pruned (``KLAXON_REPLAY_MEMORY_HOURS``, 48 by default): a
    numbered reply replayed later acts on its own incident, already settled."""
    number = await _open(paging, "replay0000000005")
    await paging.tick()
    await paging.sms_reply(ALICE, f"{number}R")
    captured = paging.fake.webhooks[-1]
    await paging.tick(hours=49)
    later = await paging.fake.resend(captured)
    assert told(later.text) == f"#{number} is already resolved"


async def test_a_bare_reply_to_an_old_page_asks_for_the_number(paging: Paging) -> None:
    number = await _open(paging, "replay0000000006")
    await paging.tick()
    await paging.tick(minutes=5)  # the secondary's page: alice has no newer one
    await paging.tick(minutes=26)  # KLAXON_BARE_REPLY_MINUTES is 30 by default
    for bare in ("A", "R", "AA"):
        refused = told((await paging.sms_reply(ALICE, bare)).text)
        assert refused is not None and f"reply {number}A to acknowledge" in refused, refused
    assert await _status(paging, number) == "triggered"
    numbered = await paging.sms_reply(ALICE, f"{number}A")
    assert told(numbered.text) == f"#{number} acknowledged"


async def test_a_bare_reply_within_the_window_acts(paging: Paging) -> None:
    number = await _open(paging, "replay0000000007")
    await paging.tick()
    await paging.tick(minutes=29)
    assert told((await paging.sms_reply(ALICE, "AA")).text) == f"#{number} acknowledged"
