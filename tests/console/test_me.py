"""The Me page (app/console/me.py): my phone, changed only by a code sent to the
new number (and the old one told); a test page; my calendar link; my open
action items."""

from __future__ import annotations

import re

import httpx

from tests.console.helpers import console_client, csrf_of, sign_in
from tests.paging import ALICE, BOB, Paging, checkout_alert, open_incident

NEW = "+15551230009"
VERIFY = re.compile(r"make this your paging phone: (\d{6})\.")


async def _me(client: httpx.AsyncClient) -> httpx.Response:
    page = await client.get("/me")
    assert page.status_code == 200, page.text
    return page


def _verify_code(paging: Paging, phone: str) -> str:
    codes = [m.group(1) for t in paging.texts_to(phone) if (m := VERIFY.search(t))]
    assert codes, paging.texts_to(phone)
    return codes[-1]


async def _alice_phone(paging: Paging) -> str:
    answer = await paging.api.get("/api/v1/responders/alice")
    return str(answer.json()["phone"])


async def test_me_shows_my_phone_calendar_link_and_open_action_items(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert("m1"))
    for owner, task in [("alice", "Add an index"), ("bob", "Bob's own task")]:
        made = await paging.api.post(
            f"/api/v1/incidents/{number}/action-items",
            json={"task": task, "owner": owner, "due": "2026-12-10"},
        )
        assert made.status_code == 201, made.text
    async with console_client(paging) as client:
        assert (await client.get("/me")).status_code == 303  # sign in first
        await sign_in(client, paging, ALICE)
        page = await _me(client)
    assert ALICE in page.text and 'href="/me/calendar"' in page.text
    assert "Add an index" in page.text and f'href="/incidents/{number}"' in page.text
    assert "Bob&#39;s own task" not in page.text and "Bob's own task" not in page.text


async def test_a_test_page_reaches_my_phone(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await _me(client)
        sent = await client.post("/me/test-page", data={"csrf": csrf_of(page)})
        assert sent.status_code == 303 and sent.headers["location"] == "/me?notice=test-sent"
        refused = await client.post("/me/test-page", data={"csrf": "0" * 64})
        assert refused.status_code == 403  # CSRF
    await paging.tick()
    tests = [t for t in paging.texts_to(ALICE) if "Test page for alice" in t]
    assert len(tests) == 1


async def test_changing_my_phone_needs_the_code_sent_to_the_new_number(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await _me(client)
        asked = await client.post("/me/phone", data={"csrf": csrf_of(page), "phone": NEW})
        assert asked.status_code == 303, asked.text
        await paging.tick()
        code = _verify_code(paging, NEW)
        form = await client.get(asked.headers["location"])
        wrong = "000000" if code != "000000" else "111111"
        bad = await client.post(
            "/me/phone/verify", data={"csrf": csrf_of(form), "phone": NEW, "code": wrong}
        )
        assert bad.status_code == 422 and "wrong or has expired" in bad.text
        assert await _alice_phone(paging) == ALICE
        good = await client.post(
            "/me/phone/verify", data={"csrf": csrf_of(form), "phone": NEW, "code": code}
        )
        assert good.status_code == 303 and good.headers["location"] == "/me?notice=phone-changed"
        again = await client.post(
            "/me/phone/verify", data={"csrf": csrf_of(form), "phone": NEW, "code": code}
        )
        assert again.status_code == 422  # a code is used once
    assert await _alice_phone(paging) == NEW
    await paging.tick()
    assert any(f"now go to {NEW}" in t for t in paging.texts_to(ALICE))  # the old phone is told
    await open_incident(paging, checkout_alert("m2"))
    await paging.tick()
    assert any("[Klaxon] SEV" in t for t in paging.texts_to(NEW))  # pages follow


async def test_a_number_that_is_someone_elses_or_not_a_number_is_refused(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await _me(client)
        taken = await client.post("/me/phone", data={"csrf": csrf_of(page), "phone": BOB})
        assert taken.status_code == 409 and "another responder" in taken.text
        junk = await client.post("/me/phone", data={"csrf": csrf_of(page), "phone": "call me"})
        assert junk.status_code == 422 and "not a phone number" in junk.text
        # A code for a number asked by nobody changes nothing.
        form = await client.get("/me/phone", params={"phone": NEW})
        guessed = await client.post(
            "/me/phone/verify", data={"csrf": csrf_of(form), "phone": NEW, "code": "123456"}
        )
        assert guessed.status_code == 422
    await paging.tick()
    assert paging.texts_to(BOB) == [] and paging.texts_to(NEW) == []
    assert await _alice_phone(paging) == ALICE


async def test_codes_for_a_new_phone_are_limited_per_number(paging: Paging) -> None:
    limit = paging.app.state.runtime.settings.console_codes_per_number
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await _me(client)
        answers = [
            (await client.post("/me/phone", data={"csrf": csrf_of(page), "phone": NEW})).status_code
            for _ in range(limit + 1)
        ]
    assert answers == [303] * limit + [429]
