"""``klaxon maintenance add|list|end`` against a real Klaxon over HTTP."""

from __future__ import annotations

import json

from tests.cli.conftest import Served, klaxon

Env = dict[str, str]


async def test_add_list_and_end_a_window(served: Served, admin: Env) -> None:
    added = await klaxon(
        "maintenance", "add", "db upgrade",
        "--reason", "PostgreSQL 17",
        "--start", "2026-11-26T13:00:00", "--end", "2026-11-26T16:00:00",
        "--time-zone", "Europe/Berlin",
        "--matcher", 'env="prod"', "--service", "checkout",
        env=admin,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "db upgrade" in added.output and "active" in added.output
    assert "2026-11-26 12:00 UTC" in added.output and "2026-11-26 15:00 UTC" in added.output

    listed = await klaxon("maintenance", "list", "--json", env=admin)
    assert listed.exit_code == 0, listed.output
    [window] = json.loads(listed.output)
    assert window["matchers"] == ['env="prod"'] and window["services"] == ["checkout"]

    ended = await klaxon("maintenance", "end", str(window["id"]), env=admin)
    assert ended.exit_code == 0, ended.output
    assert ended.output.strip() == f"ended maintenance window {window['id']} (db upgrade)"
    after = (await served.api.get(f"/api/v1/maintenance/{window['id']}")).json()
    assert after["active"] is False


async def test_add_refused_names_the_problem(served: Served, admin: Env) -> None:
    refused = await klaxon(
        "maintenance", "add", "bad", "--reason", "r", "--start", "2026-11-26T13:00:00Z",
        "--rrule", "FREQ=WEEKLY", "--service", "db",
        env=admin,
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "rrule and duration" in refused.output
    assert (await served.api.get("/api/v1/maintenance")).json() == []


async def test_end_of_an_unknown_window_is_refused(served: Served, admin: Env) -> None:
    result = await klaxon("maintenance", "end", "99", env=admin)
    assert result.exit_code == 1
    assert "no maintenance window 99" in result.output


async def test_add_a_public_window_shown_on_the_status_page(served: Served, admin: Env) -> None:
    added = await klaxon(
        "maintenance", "add", "db upgrade",
        "--reason", "PostgreSQL 17",
        "--start", "2026-11-26T13:00:00Z", "--end", "2026-11-26T16:00:00Z",
        "--service", "checkout",
        "--public-title", "Database upgrade",
        "--public-description", "Checkout may pause briefly.",
        "--json",
        env=admin,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    window = json.loads(added.output)
    assert window["public_title"] == "Database upgrade"
    assert window["public_description"] == "Checkout may pause briefly."
    doc = (await served.api.get("/status/api/v2/scheduled-maintenances.json")).json()
    assert [m["name"] for m in doc["scheduled_maintenances"]] == ["Database upgrade"]
