"""Signing in by a code sent by SMS: the code goes through the outbox and the
fake Twilio, is hashed, expires, allows 5 tries, is limited per number and per
address, and tells nobody which numbers are responders'."""

from __future__ import annotations

from sqlalchemy import select

from app.models import console_codes_table, notifications_table
from app.notify.outbox import CODE_FORGOTTEN
from tests.console.helpers import (
    ask_code,
    console_client,
    csrf_of,
    enter_code,
    last_code,
    sign_in,
)
from tests.paging import ALICE, Paging

STRANGER = "+15559990000"


async def test_a_responder_signs_in_with_the_code_texted_to_them(paging: Paging) -> None:
    async with console_client(paging) as client:
        assert (await client.get("/")).status_code == 303
        await sign_in(client, paging, ALICE)
        page = await client.get("/")
        assert page.status_code == 200
        assert "Sign out" in page.text and "alice" in page.text
    [text] = paging.texts_to(ALICE)
    assert "sign-in code" in text


async def _stored(paging: Paging) -> tuple[list[str], list[tuple[str, str]]]:
    """The code hashes kept, and the (kind, text) of every notification."""
    n = notifications_table.c
    async with paging.app.state.runtime.sessions() as session:
        hashes = (await session.execute(select(console_codes_table.c.code_hash))).scalars()
        texts = await session.execute(select(n.kind, n.body).order_by(n.id))
        return list(hashes), [(row.kind, row.body) for row in texts]


async def test_the_code_is_stored_hashed_and_its_text_forgotten_once_used(
    paging: Paging,
) -> None:
    async with console_client(paging) as client:
        await ask_code(client, ALICE)
        await paging.tick()
        code = last_code(paging, ALICE)
        [stored], [(kind, _)] = await _stored(paging)
        assert code not in stored and len(stored) > 64
        assert kind == "code"
        assert (await enter_code(client, ALICE, code)).status_code == 303
    _, [(kind, text)] = await _stored(paging)
    assert kind == "code" and code not in text and text == CODE_FORGOTTEN


async def test_an_unused_codes_text_is_forgotten_after_its_lifetime(paging: Paging) -> None:
    async with console_client(paging) as client:
        await ask_code(client, ALICE)
        await paging.tick()
        first_code = last_code(paging, ALICE)
        paging.clock.advance(minutes=10)
        await ask_code(client, ALICE)
        await paging.tick()
    _, texts = await _stored(paging)
    assert [text == CODE_FORGOTTEN for _, text in texts] == [True, False]
    assert not any(first_code in text for _, text in texts)


async def test_an_unknown_number_gets_the_same_answer_and_no_text(paging: Paging) -> None:
    async with console_client(paging) as client:
        known = await ask_code(client, ALICE)
        unknown = await ask_code(client, STRANGER)
        await paging.tick()
        assert known.status_code == unknown.status_code == 303
        assert known.headers["location"].split("?")[0] == unknown.headers["location"].split("?")[0]
        known_page = await client.get(known.headers["location"])
        unknown_page = await client.get(unknown.headers["location"])
        assert known_page.text.replace(ALICE, "N").replace(csrf_of(known_page), "") == (
            unknown_page.text.replace(STRANGER, "N").replace(csrf_of(unknown_page), "")
        )
        wrong = await enter_code(client, STRANGER, "123456")
        assert wrong.status_code == 422
    assert paging.texts_to(STRANGER) == []


async def test_a_code_dies_after_five_wrong_tries(paging: Paging) -> None:
    async with console_client(paging) as client:
        await ask_code(client, ALICE)
        await paging.tick()
        code = last_code(paging, ALICE)
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        for _ in range(5):
            assert (await enter_code(client, ALICE, wrong)).status_code == 422
        late = await enter_code(client, ALICE, code)
        assert late.status_code == 422 and "wrong or has expired" in late.text
        assert (await client.get("/")).status_code == 303


async def test_a_code_expires_after_ten_minutes(paging: Paging) -> None:
    async with console_client(paging) as client:
        await ask_code(client, ALICE)
        await paging.tick()
        paging.clock.advance(minutes=10, seconds=1)
        late = await enter_code(client, ALICE, last_code(paging, ALICE))
        assert late.status_code == 422


async def test_a_code_signs_in_once(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
    async with console_client(paging) as other:
        again = await enter_code(other, ALICE, last_code(paging, ALICE))
        assert again.status_code == 422


async def test_codes_are_limited_per_number_alike_for_known_and_unknown(paging: Paging) -> None:
    async with console_client(paging) as client:
        for phone in (ALICE, STRANGER):
            for _ in range(5):
                assert (await ask_code(client, phone)).status_code == 303
            refused = await ask_code(client, phone)
            assert refused.status_code == 429 and "Try again in" in refused.text
        await paging.tick()
        assert len(paging.texts_to(ALICE)) == 5
        paging.clock.advance(hours=1, seconds=1)
        assert (await ask_code(client, ALICE)).status_code == 303


async def test_codes_are_limited_per_address(paging: Paging) -> None:
    async with console_client(paging) as client:
        answers = [(await ask_code(client, f"+1555000{n:04d}")).status_code for n in range(21)]
    assert answers == [303] * 20 + [429]


async def test_a_malformed_number_is_named_not_a_500(paging: Paging) -> None:
    async with console_client(paging) as client:
        answer = await ask_code(client, "call me maybe")
    assert answer.status_code == 422 and "country code" in answer.text


async def test_signing_out_ends_the_session(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        page = await client.get("/")
        out = await client.post("/signout", data={"csrf": csrf_of(page)})
        assert out.status_code == 303
        secret_kept = page.request.headers["cookie"]
        assert (await client.get("/")).status_code == 303
        # The old cookie, replayed, is no session either.
        replay = await client.get("/", headers={"cookie": secret_kept})
        assert replay.status_code == 303


async def test_a_session_ends_after_twelve_hours(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        paging.clock.advance(hours=11, minutes=59)
        assert (await client.get("/")).status_code == 200
        paging.clock.advance(minutes=1)
        assert (await client.get("/")).status_code == 303
