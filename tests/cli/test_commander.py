"""The commander's commands (``klaxon incident declare|update|note|responder|
stakeholders|timeline|postmortem|actions``) against a real Klaxon over HTTP; roles
and back-dated notes are played in test_scenario_playbook.py."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer

from app.cli.response import parse_at
from tests.cli.conftest import ALICE, ONCALL, Served, klaxon
from tests.cli.test_incidents import rows
from tests.conftest import ADMIN_TOKEN

Env = dict[str, str]


async def declared(admin: Env) -> int:
    result = await klaxon(
        "incident", "declare", "--title", "Payment Service Degraded", "--service", "payments",
        "--severity", "sev2", "--json", env=admin,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    number: int = json.loads(result.stdout)["number"]
    return number


async def test_declare_opens_a_reported_incident_and_notes_the_declaration(
    served: Served, admin: Env
) -> None:
    result = await klaxon(
        "incident", "declare", "--title", "Payment Service Degraded", "--service", "payments",
        "--severity", "SEV2", "--by", "alice", env=admin,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    number = int(line.split()[0].lstrip("#"))
    assert line == f"#{number} declared: SEV2 Payment Service Degraded"
    detail = await served.incident(number)
    assert (detail["severity"], detail["service"], detail["status"]) == (
        "SEV2",
        "payments",
        "triggered",
    )
    notes = [e for e in detail["timeline"] if e["kind"] == "note"]
    assert [(n["message"], n["actor"]) for n in notes] == [("Incident declared (SEV2)", "alice")]


async def test_declare_needs_a_number_or_title_service_and_severity(admin: Env) -> None:
    result = await klaxon("incident", "declare", "--title", "Payments down", env=admin)
    assert result.exit_code == 2
    assert "--service" in result.stderr


async def test_declare_of_an_alerts_incident_sets_its_severity(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    result = await klaxon("incident", "declare", str(number), "--severity", "SEV3", env=admin)
    assert result.exit_code == 0, result.output
    assert (await served.incident(number))["severity"] == "SEV3"


async def test_update_posts_the_phase_and_prints_the_channel_text(
    served: Served, admin: Env
) -> None:
    number = await declared(admin)
    result = await klaxon(
        "incident", "update", str(number), "identified", "Rolling back deploy #5678", env=admin
    )
    assert result.exit_code == 0, result.output
    assert f"Incident #{number} - Payment Service Degraded" in result.stdout
    assert "Status: Identified" in result.stdout
    listed = (await served.api.get(f"/api/v1/incidents/{number}/updates")).json()
    assert [(u["phase"], u["message"]) for u in listed] == [
        ("identified", "Rolling back deploy #5678")
    ]
    wrong = await klaxon("incident", "update", str(number), "fixed", "done", env=admin)
    assert wrong.exit_code == 2


async def test_note_then_timeline_shows_it_to_the_second(served: Served, admin: Env) -> None:
    number = await declared(admin)
    served.clock.advance(seconds=7)
    result = await klaxon("incident", "note", str(number), "Rollback started", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number} noted at 2026-11-26 12:00:07 UTC\n"

    served.clock.advance(seconds=3)
    dated = await klaxon(
        "incident", "note", str(number), "Deploy began", "--at", "2026-11-26T11:58:00Z", env=admin
    )
    assert dated.exit_code == 0, dated.output

    shown = await klaxon("incident", "timeline", str(number), env=admin)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[:2] == ["2026-11-26 (UTC)", "11:58:00 (added 12:00:10 by admin) - Deploy began"]
    assert lines[-1] == "12:00:07 - Rollback started"
    as_json = json.loads(
        (await klaxon("incident", "timeline", str(number), "--json", env=admin)).stdout
    )
    assert [e["message"] for e in as_json if e["kind"] == "note"][-2:] == [
        "Rollback started",
        "Deploy began",
    ]


def test_at_takes_a_time_of_day_today_in_utc_or_a_full_iso_time() -> None:
    today = date(2026, 11, 26)
    assert parse_at("14:30", today) == "2026-11-26T14:30:00+00:00"
    assert parse_at("14:30:15", today) == "2026-11-26T14:30:15+00:00"
    assert parse_at("2026-11-25T23:50:00", today) == "2026-11-25T23:50:00+00:00"
    assert parse_at("2026-11-26T15:30:00+01:00", today) == "2026-11-26T14:30:00+00:00"
    with pytest.raises(typer.BadParameter, match="neither a time of day"):
        parse_at("half past two", today)


async def test_responder_pages_them_and_an_unknown_one_is_refused(
    served: Served, admin: Env
) -> None:
    assert (await served.api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
    number = await declared(admin)
    result = await klaxon("incident", "responder", str(number), "bob", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"#{number}: paging bob by sms")
    unknown = await klaxon("incident", "responder", str(number), "zed", env=admin)
    assert unknown.exit_code == 1
    assert "zed" in unknown.stderr and unknown.stderr.count("\n") == 1


async def test_stakeholders_lists_and_adds_keeping_the_others(served: Served, admin: Env) -> None:
    number = await declared(admin)
    assert (await klaxon("incident", "stakeholders", str(number), env=admin)).stdout == (
        "no stakeholders of payments\n"
    )
    first = await klaxon(
        "incident", "stakeholders", str(number), "--add", f"cfo={ALICE}", "--opt-in", env=admin
    )
    assert first.exit_code == 0, first.output
    second = await klaxon(
        "incident", "stakeholders", str(number), "--add", "support=+15551230002", env=admin
    )
    assert second.exit_code == 0, second.output
    table = rows(second.stdout)
    assert table[0] == ["Stakeholders of payments:"]
    assert [r[:3] for r in table[2:]] == [["cfo", ALICE, "yes"], ["support", "+15551230002", "no"]]

    made = await served.api.post("/api/v1/tokens", json={"name": "ic", "scope": "write"})
    writer = {**admin, "KLAXON_TOKEN": made.json()["token"]}
    masked = await klaxon("incident", "stakeholders", str(number), env=writer)
    assert "+*******0001" in masked.stdout and ALICE not in masked.stdout
    refused = await klaxon(
        "incident", "stakeholders", str(number), "--add", "x=+15551230003", env=writer
    )
    assert refused.exit_code == 1
    assert refused.stderr == (
        "adding a stakeholder rewrites the list: that needs a config-scope token\n"
    )


async def test_postmortem_saves_sections_and_exports_the_markdown(
    served: Served, admin: Env, tmp_path: Path
) -> None:
    number = await declared(admin)
    result = await klaxon(
        "incident", "postmortem", str(number), "--root-cause", "Missing database index",
        "-o", "pm.md", env=admin,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number}'s post-mortem written to pm.md\n"
    written = (tmp_path / "pm.md").read_text()
    assert written.startswith(f"# Post-Mortem: Incident #{number}")
    assert "Missing database index" in written
    printed = await klaxon("incident", "postmortem", str(number), env=admin)
    assert printed.stdout == written
    as_json = json.loads(
        (await klaxon("incident", "postmortem", str(number), "--json", env=admin)).stdout
    )
    assert as_json["root_cause"] == "Missing database index"


async def test_actions_adds_lists_and_marks_done(served: Served, admin: Env) -> None:
    number = await declared(admin)
    assert (await klaxon("incident", "actions", str(number), env=admin)).stdout == (
        f"#{number} has no action items\n"
    )
    added = await klaxon(
        "incident", "actions", str(number), "--add", "Add index monitoring", "--owner", "alice",
        "--due", "2099-01-22", env=admin,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    [header, row] = rows(added.stdout)
    assert header == ["ID", "TASK", "OWNER", "DUE", "STATUS"]
    assert row[1:] == ["Add index monitoring", "alice", "2099-01-22", "open"]
    done = await klaxon("incident", "actions", str(number), "--done", row[0], "--json", env=admin)
    assert json.loads(done.stdout)[0]["status"] == "done"
    bad = await klaxon("incident", "actions", str(number), "--add", "x", "--owner", "a", env=admin)
    assert bad.exit_code == 2
    missing = await klaxon("incident", "actions", str(number), "--done", "999", env=admin)
    assert (missing.exit_code, missing.stderr) == (1, f"#{number} has no action item 999\n")


async def test_the_api_lists_open_incidents_as_the_cli_does(served: Served, admin: Env) -> None:
    [acked] = await served.alertmanager("01-firing-group-HighLatency-2alerts.json")
    [resolved] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    triggered = await declared(admin)
    assert (await served.api.post(f"/api/v1/incidents/{acked}/acknowledge")).status_code == 200
    assert (await served.api.post(f"/api/v1/incidents/{resolved}/resolve")).status_code == 200
    page = (await served.api.get("/api/v1/incidents", params={"status": "open"})).json()
    assert [i["number"] for i in page["items"]] == [triggered, acked]
    cli = await klaxon("incidents", "list", "--json", env=admin)
    assert json.loads(cli.stdout) == page
    wrong = await served.api.get("/api/v1/incidents", params={"status": "closed"})
    assert wrong.status_code == 422


async def test_the_dev_token_is_found_in_klaxon_home_from_any_directory(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "admin-token").write_text(ADMIN_TOKEN + "\n")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    env = {"KLAXON_URL": served.url, "KLAXON_HOME": str(home)}
    assert (await klaxon("incidents", "list", env=env)).stdout == "no open incidents\n"
    nowhere = await klaxon("incidents", "list", env={**env, "KLAXON_HOME": str(elsewhere)})
    assert nowhere.exit_code == 2
    assert nowhere.stderr.startswith("no API token")


async def test_reply_goes_to_klaxon_url(served: Served) -> None:
    assert (await served.api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    env = {"KLAXON_URL": served.url, "KLAXON_ADMIN_TOKEN": ADMIN_TOKEN}
    result = await klaxon("reply", "--from", ALICE, f"{number}A", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number} acknowledged\n"


async def test_role_assigns_hands_over_and_removes(served: Served, admin: Env) -> None:
    assert (await served.api.post("/api/v1/oncall-config", json=ONCALL)).status_code == 200
    number = await declared(admin)
    assert (await klaxon("incident", "role", str(number), "ic", "alice", env=admin)).stdout == (
        f"#{number}: alice is now commander\n"
    )
    await klaxon("incident", "role", str(number), "comms", "bob", env=admin)
    sme = await klaxon("incident", "role", str(number), "sme", "bob", "--json", env=admin)
    assert json.loads(sme.stdout)["sme"] == ["bob"]
    shown = await klaxon("incident", "show", str(number), env=admin)
    assert "  roles:     IC alice, Comms bob, Scribe -, SME bob" in shown.stdout.splitlines()

    handed = await klaxon("incident", "role", str(number), "ic", "bob", env=admin)
    assert handed.exit_code == 0, handed.output
    not_held = await klaxon("incident", "role", str(number), "ic", "alice", "--remove", env=admin)
    assert (not_held.exit_code, not_held.stderr) == (
        1,
        f"alice is not the commander of #{number} (bob is)\n",
    )
    removed = await klaxon("incident", "role", str(number), "sme", "bob", "--remove", env=admin)
    assert removed.stdout == f"#{number}: bob is no longer sme\n"
    roles = (await served.incident(number))["roles"]
    assert (roles["commander"], roles["comms"], roles["sme"]) == ("bob", "bob", [])
    unknown = await klaxon("incident", "role", str(number), "ic", "zed", env=admin)
    assert unknown.exit_code == 1 and "zed" in unknown.stderr
    wrong = await klaxon("incident", "role", str(number), "boss", "bob", env=admin)
    assert wrong.exit_code == 2
