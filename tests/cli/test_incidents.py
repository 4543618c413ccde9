"""``klaxon incidents list|show|ack|resolve`` against a real Klaxon over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.cli.conftest import Served, klaxon

AGE = re.compile(r"^\d+(s|m|h\d\dm|d\d\dh)$")
Env = dict[str, str]


def plain(text: str) -> str:
    """Typer's boxed error message as one line of words."""
    return " ".join(re.sub(r"[╭╮╰╯│─]", " ", text).split())


def rows(stdout: str) -> list[list[str]]:
    """The table's cells, header first (columns are two or more spaces apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]


async def three_incidents(served: Served) -> tuple[int, int, int]:
    """#a acknowledged (HighLatency, checkout), #b resolved (DiskFull, storage),
    #c triggered (a reported SEV3 on web), opened in that order."""
    [acked] = await served.alertmanager("01-firing-group-HighLatency-2alerts.json")
    [resolved] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    reported = await served.api.post(
        "/api/v1/incidents",
        json={"title": "Checkout button greyed out", "severity": "SEV3", "service": "web"},
    )
    assert reported.status_code in (200, 201), reported.text
    triggered = reported.json()["number"]
    ack = await served.api.post(f"/api/v1/incidents/{acked}/acknowledge", json={"by": "alice"})
    assert ack.status_code == 200
    assert (await served.api.post(f"/api/v1/incidents/{resolved}/resolve")).status_code == 200
    return acked, resolved, triggered


async def api_page(served: Served, **params: Any) -> dict[str, Any]:
    response = await served.api.get("/api/v1/incidents", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# --- list ------------------------------------------------------------------------


async def test_list_shows_open_incidents_newest_first_in_a_table(
    served: Served, admin: Env
) -> None:
    acked, _resolved, triggered = await three_incidents(served)
    result = await klaxon("incidents", "list", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    header, *body = rows(result.stdout)
    assert header == ["NUMBER", "SEV", "STATUS", "AGE", "TITLE", "SERVICE"]
    assert [row[0] for row in body] == [f"#{triggered}", f"#{acked}"]
    _number, sev, status, age, title, service = body[0]
    assert (sev, status, title, service) == (
        "SEV3",
        "triggered",
        "Checkout button greyed out",
        "web",
    )
    assert AGE.match(age), age
    detail = await served.incident(acked)
    assert body[1][1:3] == [detail["severity"], "acknowledged"]
    assert body[1][4:] == [detail["title"], "checkout"]


async def test_list_filters_by_status_severity_and_service(served: Served, admin: Env) -> None:
    acked, resolved, triggered = await three_incidents(served)

    async def numbers(*args: str) -> list[str]:
        result = await klaxon("incidents", "list", *args, env=admin)
        assert result.exit_code == 0, result.output
        return [row[0] for row in rows(result.stdout)[1:]]

    assert await numbers("--status", "resolved") == [f"#{resolved}"]
    assert await numbers("--status", "all") == [f"#{triggered}", f"#{resolved}", f"#{acked}"]
    assert await numbers("--status", "TRIGGERED") == [f"#{triggered}"]
    assert await numbers("--severity", "sev3") == [f"#{triggered}"]
    assert await numbers("--status", "all", "--service", "storage") == [f"#{resolved}"]
    assert await numbers("--status", "all", "--label", "alertname=DiskFull") == [f"#{resolved}"]
    nothing = await klaxon("incidents", "list", "--service", "nowhere", env=admin)
    assert (nothing.exit_code, nothing.stdout) == (0, "no open incidents\n")


async def test_list_json_is_the_apis_page(served: Served, admin: Env) -> None:
    acked, _resolved, triggered = await three_incidents(served)
    everything = await klaxon("incidents", "list", "--status", "all", "--json", env=admin)
    assert everything.exit_code == 0, everything.output
    assert json.loads(everything.stdout) == await api_page(served)

    open_ = await klaxon("incidents", "list", "--json", env=admin)
    assert open_.exit_code == 0, open_.output
    page = json.loads(open_.stdout)
    by_number = {i["number"]: i for i in (await api_page(served))["items"]}
    assert page == {"items": [by_number[triggered], by_number[acked]], "next_cursor": None}


async def test_list_pages_with_the_cursor_it_prints(served: Served, admin: Env) -> None:
    acked, _resolved, triggered = await three_incidents(served)
    first = await klaxon("incidents", "list", "--limit", "1", env=admin)
    assert first.exit_code == 0, first.output
    assert [row[0] for row in rows(first.stdout)[1:]] == [f"#{triggered}"]
    found = re.fullmatch(r"\(more: add --cursor (\d+)\)\n", first.stderr)
    assert found is not None, first.stderr
    second = await klaxon(
        "incidents", "list", "--limit", "1", "--cursor", found.group(1), "--json", env=admin
    )
    assert second.exit_code == 0, second.output
    page = json.loads(second.stdout)
    assert [i["number"] for i in page["items"]] == [acked]
    assert page["next_cursor"] is None  # the resolved one is older still, but not open


# --- show ------------------------------------------------------------------------


async def test_show_prints_the_incident_and_its_timeline(served: Served, admin: Env) -> None:
    acked, _, _ = await three_incidents(served)
    result = await klaxon("incidents", "show", str(acked), env=admin)
    assert result.exit_code == 0, result.output
    detail = await served.incident(acked)
    lines = result.stdout.splitlines()
    assert lines[0] == f"#{acked} {detail['title']}"
    assert "  status:    acknowledged by alice at 2026-11-26 12:00 UTC" in lines
    assert f"  severity:  {detail['severity']}" in lines
    assert "  service:   checkout (policy checkout-oncall)" in lines
    assert "  alerts:    2 (2 firing)" in lines
    timeline = lines[lines.index("Timeline:") + 1 :]
    assert len(timeline) == 1 + len(detail["timeline"]) > 1
    for line, event in zip(timeline[1:], detail["timeline"], strict=True):
        assert line.split()[:4] == ["2026-11-26", "12:00:00", "UTC", event["kind"]]
        assert line.endswith(event["message"])


async def test_show_json_is_the_apis_detail(served: Served, admin: Env) -> None:
    _, resolved, _ = await three_incidents(served)
    result = await klaxon("incidents", "show", str(resolved), "--json", env=admin)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown == await served.incident(resolved)
    assert [e["kind"] for e in shown["timeline"]][-1] == "resolved"


# --- ack and resolve ---------------------------------------------------------------


async def test_ack_acknowledges_and_records_who_and_the_note(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    served.clock.advance(minutes=7)
    result = await klaxon(
        "incidents", "ack", str(number), "--by", "carol", "--note", "on it", env=admin
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number} acknowledged by carol at 2026-11-26 12:07 UTC\n"
    detail = await served.incident(number)
    assert (detail["status"], detail["acknowledged_by"]) == ("acknowledged", "carol")
    assert detail["timeline"][-1]["message"] == "Acknowledged by carol via api: on it"


async def test_ack_twice_says_so_and_changes_nothing(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    assert (await klaxon("incidents", "ack", str(number), env=admin)).exit_code == 0
    before = await served.incident(number)
    assert before["acknowledged_by"] == "admin"  # the token's name by default
    served.clock.advance(minutes=1)
    again = await klaxon("incidents", "ack", str(number), "--by", "dave", env=admin)
    assert again.exit_code == 0, again.output
    assert again.stdout == (
        f"#{number} was already acknowledged by admin at 2026-11-26 12:00 UTC; nothing changed\n"
    )
    assert await served.incident(number) == before


async def test_resolve_then_resolve_again_then_ack_is_refused(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    result = await klaxon("incidents", "resolve", str(number), "--note", "disk grown", env=admin)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"#{number} resolved by admin at 2026-11-26 12:00 UTC\n"
    detail = await served.incident(number)
    assert detail["status"] == "resolved"
    assert detail["timeline"][-1]["message"] == "Resolved by admin via api: disk grown"

    again = await klaxon("incidents", "resolve", str(number), env=admin)
    assert again.exit_code == 0, again.output
    assert again.stdout.endswith("; nothing changed\n")

    refused = await klaxon("incidents", "ack", str(number), env=admin)
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr == f"#{number} is already resolved\n"
    assert await served.incident(number) == detail


async def test_ack_json_prints_the_incident_the_api_returned(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("01-firing-group-HighLatency-2alerts.json")
    result = await klaxon("incidents", "ack", str(number), "--json", env=admin)
    assert result.exit_code == 0, result.output
    acked = json.loads(result.stdout)
    detail = await served.incident(number)
    detail_only = ("alerts", "timeline", "runbook", "roles", "next_update_at")
    assert acked == {k: v for k, v in detail.items() if k not in detail_only}
    assert acked["status"] == "acknowledged"


@pytest.mark.parametrize("command", ["show", "ack", "resolve"])
async def test_an_unknown_incident_is_exit_1_with_the_apis_message(
    served: Served, admin: Env, command: str
) -> None:
    result = await klaxon("incidents", command, "999", env=admin)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "No incident #999\n"


async def test_a_read_token_may_look_but_not_acknowledge(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    created = await served.api.post("/api/v1/tokens", json={"name": "viewer", "scope": "read"})
    env = {**admin, "KLAXON_TOKEN": created.json()["token"]}
    assert (await klaxon("incidents", "show", str(number), env=env)).exit_code == 0
    result = await klaxon("incidents", "ack", str(number), env=env)
    assert result.exit_code == 1
    assert result.stderr == "the token may not do this: token scope 'read' does not allow 'write'\n"
    assert (await served.incident(number))["status"] == "triggered"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["show", "abc"], "Invalid value for 'number': Input should be a valid integer"),
        (["show", "0"], "Invalid value for 'number': Input should be greater than or equal to 1"),
        (["ack"], "Missing argument 'number'"),
        (["list", "--status", "closed"], "'closed' is not one of"),
        (["list", "--severity", "SEV9"], "'SEV9' is not one of"),
        (["list", "--limit", "0"], "Invalid value for '--limit': Input should be greater than"),
        (["list", "--label", "alertname"], "'alertname' must look like name=value"),
    ],
)
async def test_bad_arguments_are_usage_errors(
    served: Served, admin: Env, args: list[str], complaint: str
) -> None:
    result = await klaxon("incidents", *args, env=admin)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert complaint in plain(result.stderr), result.stderr


async def test_what_the_api_refuses_is_exit_1_with_its_detail(served: Served, admin: Env) -> None:
    [number] = await served.alertmanager("02-firing-DiskFull-critical-annotations.json")
    cursor = await klaxon("incidents", "list", "--cursor", "abc", env=admin)
    assert cursor.exit_code == 1
    assert cursor.stderr == "cursor 'abc' is not one this API gave out\n"

    long_note = await klaxon("incidents", "ack", str(number), "--note", "x" * 2001, env=admin)
    assert long_note.exit_code == 1
    assert long_note.stderr == "body.note: String should have at most 2000 characters\n"
    assert (await served.incident(number))["status"] == "triggered"
