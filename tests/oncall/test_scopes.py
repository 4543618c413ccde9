"""Who may change who gets paged, on both databases: a ``write`` token acts on
incidents and may take a shift (recorded with its name), but only ``config``
(and ``admin``) changes responders, phones, schedules, policies and
stakeholders; phone numbers are masked for tokens that may not change them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.oncall.test_api import ANN, API, BEN, people, put, weekly

ERIN = "+15551239999"


async def bearer(client: httpx.AsyncClient, scope: str, name: str | None = None) -> dict[str, str]:
    created = await client.post(f"{API}/tokens", json={"name": name or scope, "scope": scope})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def setup_paging(client: httpx.AsyncClient) -> None:
    await people(client)
    await put(client, "/responders/erin", {"phone": ERIN}, 201)
    await put(client, "/schedules/drill", weekly(["ann", "ben"]), 201)
    steps = [{"targets": {"schedules": ["drill"]}, "delay_minutes": 5}]
    await put(client, "/escalation-policies/drill", {"steps": steps}, 201)
    stakeholders = {"stakeholders": [{"name": "Erin", "phone": ERIN}]}
    await put(client, "/services/drill/stakeholders", stakeholders)


async def test_a_write_token_cannot_reroute_pages(client: httpx.AsyncClient) -> None:
    """The three changes of issue 11 (a phone, a 1440-minute delay, an outside
    number subscribed), refused to ``write`` and nothing changed; ``config`` may."""
    await setup_paging(client)
    paths = ("/responders/erin", "/escalation-policies/drill", "/services/drill/stakeholders")
    before = {path: (await client.get(API + path)).json() for path in paths}
    changes: list[tuple[str, Any]] = [
        ("/responders/erin", {"phone": "+15550000000"}),
        (
            "/escalation-policies/drill",
            {"steps": [{"targets": {"schedules": ["drill"]}, "delay_minutes": 1440}]},
        ),
        ("/services/drill/stakeholders", [{"name": "Mallory", "phone": "+15550000001"}]),
        ("/schedules/drill", weekly(["ben"])),
    ]
    write = await bearer(client, "write")
    for path, body in changes:
        resp = await client.put(API + path, json=body, headers=write)
        assert resp.status_code == 403, (path, resp.text)
        assert resp.json() == {"detail": "token scope 'write' does not allow 'config'"}
    assert {path: (await client.get(API + path)).json() for path in before} == before
    document = {"responders": [{"name": "erin", "phone": "+15550000000"}]}
    refused = await client.post(f"{API}/oncall-config", json=document, headers=write)
    assert refused.status_code == 403

    config = await bearer(client, "config")
    for path, body in changes:
        resp = await client.put(API + path, json=body, headers=config)
        assert resp.status_code == 200, (path, resp.text)
    assert (await client.get(f"{API}/responders/erin")).json()["phone"] == "+15550000000"
    applied = await client.post(f"{API}/oncall-config", json=document, headers=config)
    assert applied.status_code == 200, applied.text


@pytest.mark.parametrize(
    ("scope", "erin", "ann"),
    [
        ("read", "+*******9999", "+*******0001"),
        ("write", "+*******9999", "+*******0001"),
        ("config", ERIN, ANN),
        ("admin", ERIN, ANN),
    ],
)
async def test_phones_are_masked_unless_the_token_may_change_them(
    client: httpx.AsyncClient, scope: str, erin: str, ann: str
) -> None:
    await setup_paging(client)
    headers = await bearer(client, scope)

    async def read(path: str) -> Any:
        resp = await client.get(API + path, params={"at": "2026-11-03T12:00:00Z"}, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert (await read("/responders/erin"))["phone"] == erin
    assert {r["name"]: r["phone"] for r in await read("/responders")}["ann"] == ann
    assert (await read("/schedules/drill/oncall"))["responder"]["phone"] == ann
    [everywhere] = await read("/oncall")
    assert everywhere["responder"]["phone"] == ann
    [stakeholder] = (await read("/services/drill/stakeholders"))["stakeholders"]
    assert stakeholder["phone"] == erin
    # Nothing else in an answer carries the number whole.
    for path in ("/responders", "/oncall", "/services/drill/stakeholders", "/schedules/drill"):
        text = (await client.get(API + path, headers=headers)).text
        if erin != ERIN:
            assert ERIN not in text and ANN not in text and BEN not in text, path


async def test_an_override_is_recorded_with_the_token_that_made_it(
    client: httpx.AsyncClient,
) -> None:
    await people(client)
    await put(client, "/schedules/pay", weekly(["ann", "ben"]), 201)
    ann = await bearer(client, "write", "ann's phone")
    ben = await bearer(client, "write", "ben's laptop")
    shift = {"start": "2026-12-10T00:00:00Z", "end": "2026-12-11T00:00:00Z", "responder": "ben"}

    made = await client.post(f"{API}/schedules/pay/overrides", json=shift, headers=ann)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "ann's phone"
    [listed] = (await client.get(f"{API}/schedules/pay")).json()["overrides"]
    assert (listed["id"], listed["created_by"]) == (made.json()["id"], "ann's phone")

    # Another write token may not undo it; its maker and config may.
    url = f"{API}/schedules/pay/overrides/{made.json()['id']}"
    refused = await client.delete(url, headers=ben)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f'override {made.json()["id"]} was made by "ann\'s phone":'
        " removing another's override needs the config scope"
    )
    assert len((await client.get(f"{API}/schedules/pay")).json()["overrides"]) == 1
    assert (await client.delete(url, headers=ann)).status_code == 204

    again = await client.post(f"{API}/schedules/pay/overrides", json=shift, headers=ben)
    url = f"{API}/schedules/pay/overrides/{again.json()['id']}"
    assert (await client.delete(url, headers=await bearer(client, "config"))).status_code == 204
    assert (await client.get(f"{API}/schedules/pay")).json()["overrides"] == []


async def test_overrides_a_schedule_or_document_sets_are_recorded_with_their_maker(
    client: httpx.AsyncClient,
) -> None:
    await people(client)
    body = weekly(["ann", "ben"])
    body["overrides"] = [
        {"start": "2026-12-10T00:00:00Z", "end": "2026-12-11T00:00:00Z", "responder": "ann"}
    ]
    await put(client, "/schedules/pay", body, 201)  # the admin token from settings
    [override] = (await client.get(f"{API}/schedules/pay")).json()["overrides"]
    assert override["created_by"] == "admin"

    config = await bearer(client, "config", "rota-bot")
    document = {"schedules": [{"name": "ops", **weekly(["ben"]), "overrides": body["overrides"]}]}
    applied = await client.post(f"{API}/oncall-config", json=document, headers=config)
    assert applied.status_code == 200, applied.text
    [override] = (await client.get(f"{API}/schedules/ops")).json()["overrides"]
    assert override["created_by"] == "rota-bot"
