"""Incident roles: assigned and handed over through the API and by SMS (``42IC``),
the acknowledger commanding by default, and the roles in the status text and
the post-mortem draft."""

from __future__ import annotations

from typing import Any

import httpx

from app.replies.grammar import Reply, parse_reply
from tests.helpers import told
from tests.paging import ALICE, BOB, CAROL, Paging, checkout_alert, open_incident
from tests.response.helpers import post_update, report, timeline

NOBODY: dict[str, Any] = {"commander": None, "comms": None, "scribe": None, "sme": []}


async def _people(client: httpx.AsyncClient, *names: str) -> None:
    for index, name in enumerate(names):
        phone = f"+1555123{index + 100:04d}"
        resp = await client.put(f"/api/v1/responders/{name}", json={"phone": phone})
        assert resp.status_code in (200, 201), resp.text


async def _put(client: httpx.AsyncClient, number: int, role: str, who: str) -> httpx.Response:
    return await client.put(f"/api/v1/incidents/{number}/roles/{role}", json={"responder": who})


def _role_lines(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e["kind"] == "role"]


async def test_roles_are_assigned_handed_over_and_cleared(client: httpx.AsyncClient) -> None:
    await _people(client, "alice", "bob", "carol", "dave")
    number = (await report(client))["number"]
    assert (await client.get(f"/api/v1/incidents/{number}")).json()["roles"] == NOBODY
    first = await _put(client, number, "commander", "alice")
    assert first.status_code == 200, first.text
    assert first.json() == {**NOBODY, "commander": "alice"}
    handed = await _put(client, number, "commander", "bob")
    assert handed.json()["commander"] == "bob"
    assert (await _put(client, number, "commander", "bob")).status_code == 200  # no change
    await _put(client, number, "comms", "carol")
    await _put(client, number, "scribe", "alice")
    for _ in range(2):
        sme = await client.post(
            f"/api/v1/incidents/{number}/roles/sme", json={"responder": "dave", "by": "bob"}
        )
        assert sme.status_code == 200, sme.text
    await client.post(f"/api/v1/incidents/{number}/roles/sme", json={"responder": "alice"})
    detail = (await client.get(f"/api/v1/incidents/{number}")).json()
    assert detail["roles"] == {
        "commander": "bob",
        "comms": "carol",
        "scribe": "alice",
        "sme": ["dave", "alice"],
    }
    removed = await client.delete(f"/api/v1/incidents/{number}/roles/sme/dave")
    assert removed.json()["sme"] == ["alice"]
    cleared = await client.delete(f"/api/v1/incidents/{number}/roles/comms")
    assert cleared.status_code == 200
    assert cleared.json() == {**NOBODY, "commander": "bob", "scribe": "alice", "sme": ["alice"]}
    assert (await client.delete(f"/api/v1/incidents/{number}/roles/comms")).status_code == 200
    events = await timeline(client, number)
    assert _role_lines(events) == [
        "alice took command",
        "command handed from alice to bob",
        "carol is communications lead",
        "alice is scribe",
        "dave joined as subject-matter expert",
        "alice joined as subject-matter expert",
        "dave is no longer a subject-matter expert",
        "carol is no longer communications lead",
    ], "one line per change; a repeat changes nothing"
    by_dave = next(e for e in events if e["message"].startswith("dave joined"))
    assert by_dave["actor"] == "bob"


async def test_unknown_people_roles_and_incidents_are_refused(client: httpx.AsyncClient) -> None:
    await _people(client, "alice")
    number = (await report(client))["number"]
    nobody = await _put(client, number, "commander", "mallory")
    assert nobody.status_code == 404
    assert "mallory" in nobody.json()["detail"]
    pilot = await _put(client, number, "pilot", "alice")
    assert pilot.status_code == 422
    assert "commander" in pilot.text, "the refusal names the roles there are"
    assert (await _put(client, number, "sme", "alice")).status_code == 422
    bad_name = await _put(client, number, "comms", "alice smith")
    assert bad_name.status_code == 422
    sme = await client.post(f"/api/v1/incidents/{number}/roles/sme", json={"responder": "eve"})
    assert sme.status_code == 404
    assert "eve" in sme.json()["detail"]
    not_listed = await client.delete(f"/api/v1/incidents/{number}/roles/sme/alice")
    assert not_listed.status_code == 404
    assert "alice" in not_listed.json()["detail"]
    assert (await _put(client, 99, "commander", "alice")).status_code == 404
    assert (await client.delete("/api/v1/incidents/99/roles/scribe")).status_code == 404
    assert (await client.get(f"/api/v1/incidents/{number}")).json()["roles"] == NOBODY
    assert _role_lines(await timeline(client, number)) == []


async def test_whoever_acknowledges_commands_unless_someone_does(
    client: httpx.AsyncClient,
) -> None:
    await _people(client, "alice", "bob", "carol")
    first = (await report(client))["number"]
    acked = await client.post(f"/api/v1/incidents/{first}/acknowledge", json={"by": "alice"})
    assert acked.status_code == 200
    detail = (await client.get(f"/api/v1/incidents/{first}")).json()
    assert detail["roles"]["commander"] == "alice"
    await _put(client, first, "commander", "bob")
    assert "command handed from alice to bob" in _role_lines(await timeline(client, first))

    second = (await report(client, title="Search slow"))["number"]
    await _put(client, second, "commander", "carol")
    await client.post(f"/api/v1/incidents/{second}/acknowledge", json={"by": "alice"})
    detail = (await client.get(f"/api/v1/incidents/{second}")).json()
    assert detail["roles"]["commander"] == "carol", "an acknowledgement does not take command"


async def test_a_resolved_incident_still_takes_roles_for_its_review(
    client: httpx.AsyncClient,
) -> None:
    await _people(client, "alice")
    number = (await report(client))["number"]
    assert (await client.post(f"/api/v1/incidents/{number}/resolve")).status_code == 200
    scribe = await _put(client, number, "scribe", "alice")
    assert scribe.status_code == 200
    assert scribe.json()["scribe"] == "alice"


async def test_the_status_text_names_the_roles_held_when_it_was_posted(
    client: httpx.AsyncClient,
) -> None:
    await _people(client, "alice", "bob", "carol")
    number = (await report(client))["number"]
    await _put(client, number, "commander", "alice")
    await _put(client, number, "comms", "bob")
    update = await post_update(client, number, "investigating", "Looking")
    assert update["roles"] == {**NOBODY, "commander": "alice", "comms": "bob"}
    assert update["text"].splitlines()[-2:] == ["IC: alice · Comms: bob", "Next update: 13:00 UTC"]
    await _put(client, number, "comms", "carol")
    await client.post(f"/api/v1/incidents/{number}/roles/sme", json={"responder": "carol"})
    later = await post_update(client, number, "identified", "Found it")
    assert "IC: alice · Comms: carol · SME: carol" in later["text"].splitlines()
    listed = (await client.get(f"/api/v1/incidents/{number}/updates")).json()
    assert "IC: alice · Comms: bob" in listed[0]["text"], "an old update reads the same later"


async def test_the_post_mortem_names_the_roles_and_tells_handovers_blamelessly(
    client: httpx.AsyncClient,
) -> None:
    await _people(client, "alice", "bob", "carol")
    number = (await report(client))["number"]
    await _put(client, number, "commander", "alice")
    await _put(client, number, "commander", "bob")
    await _put(client, number, "scribe", "carol")
    draft = (await client.get(f"/api/v1/incidents/{number}/postmortem")).text
    lines = draft.splitlines()
    assert "Roles: IC: bob · Scribe: carol" in lines
    assert lines.index("Roles: IC: bob · Scribe: carol") < lines.index("## Summary")
    assert "12:00:00 - Command taken" in lines
    assert "12:00:00 - Command handed over" in lines
    assert "12:00:00 - Scribe taken" in lines
    timeline_part = draft.split("## Timeline")[1].split("## Root Cause")[0]
    assert "alice" not in timeline_part and "bob" not in timeline_part


def test_take_command_is_understood_in_the_usual_forms() -> None:
    for text in ("42IC", "42 ic", "#42 IC", "ic 42", "IC #42", "42 command", " 42ic. "):
        assert parse_reply(text) == Reply("command", 42), text
    assert parse_reply("IC") == Reply("command", None)
    assert parse_reply("42ICE") is None


async def test_the_paged_responder_takes_command_by_sms(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    assert paging.texts_to(ALICE), "alice is paged first"
    took = told((await paging.sms_reply(ALICE, f"{number}IC")).text)
    assert took == f"#{number} acknowledged; you have command"
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "alice")
    assert detail["roles"]["commander"] == "alice"
    again = told((await paging.sms_reply(ALICE, f"{number} ic")).text)
    assert again == f"#{number}: you already have command"
    handed = told((await paging.sms_reply(BOB, f"ic {number}")).text)
    assert handed == f"#{number}: you have command, handed from alice"
    events = await timeline(paging.api, number)
    assert _role_lines(events) == ["command handed from alice to bob"]
    assert next(e for e in events if e["kind"] == "role")["actor"] == "bob"
    await paging.sms_reply(CAROL, f"{number}R")
    late = told((await paging.sms_reply(ALICE, f"{number}IC")).text)
    assert late == f"#{number} is already resolved"
    assert (await paging.api.get(f"/api/v1/incidents/{number}")).json()["roles"][
        "commander"
    ] == "bob"
    unknown = told((await paging.sms_reply(ALICE, "9999IC")).text)
    assert unknown == "No incident #9999"


async def test_a_commander_named_with_a_line_break_cannot_add_a_line(
    client: httpx.AsyncClient,
) -> None:
    number = (await report(client))["number"]
    acked = await client.post(
        f"/api/v1/incidents/{number}/acknowledge", json={"by": "eve\nStatus: Resolved"}
    )
    assert acked.status_code == 200
    update = await post_update(client, number, "investigating", "Looking")
    lines = update["text"].splitlines()
    assert "IC: eve Status: Resolved" in lines
    assert "Status: Resolved" not in lines


async def test_taking_command_of_a_paging_incident_with_a_commander_acknowledges_it(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    await paging.tick()
    put = await paging.api.put(
        f"/api/v1/incidents/{number}/roles/commander", json={"responder": "carol"}
    )
    assert put.status_code == 200, put.text
    took = told((await paging.sms_reply(ALICE, f"{number}IC")).text)
    assert took == f"#{number} acknowledged; you have command, handed from carol"
    detail = (await paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert (detail["status"], detail["roles"]["commander"]) == ("acknowledged", "alice")
