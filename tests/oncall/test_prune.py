"""``apply --prune`` and ``--dry-run``, through ``POST /api/v1/oncall-config`` and
``klaxon apply``: what the document no longer names is removed, unless open
incidents page through it or something kept names it; a dry run writes nothing."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

from app.cli import cli
from app.settings import get_settings
from tests.conftest import RULES
from tests.helpers import am_alert, am_payload


def _step(**targets: list[str]) -> dict[str, Any]:
    return {"targets": targets, "channels": ["sms"], "delay_minutes": 5}


#: tests/fixtures/rules.yaml routes to checkout-oncall, storage-oncall and default.
FULL: dict[str, Any] = {
    "responders": [
        {"name": "alice", "phone": "+15551230001"},
        {"name": "bob", "phone": "+15551230002"},
        {"name": "carol", "phone": "+15551230003"},
        {"name": "dave", "phone": "+15551230004"},
    ],
    "schedules": [
        {
            "name": "ops",
            "time_zone": "UTC",
            "layers": [
                {
                    "name": "weekly",
                    "participants": ["alice", "bob"],
                    "shift": "1w",
                    "start": "2026-11-01T09:00:00",
                }
            ],
        }
    ],
    "policies": [
        {"name": "checkout-oncall", "steps": [_step(schedules=["ops"])]},
        {"name": "storage-oncall", "steps": [_step(responders=["carol"])]},
        {"name": "default", "steps": [_step(responders=["alice"])]},
        {"name": "old-policy", "steps": [_step(responders=["dave"])]},
    ],
    "heartbeats": [],
}


def without(doc: dict[str, Any], **names: list[str]) -> dict[str, Any]:
    """``doc`` without the named items: ``without(FULL, responders=["dave"])``."""
    out = copy.deepcopy(doc)
    for section, dropped in names.items():
        out[section] = [item for item in out[section] if item["name"] not in dropped]
    return out


SMALLER = without(FULL, responders=["dave"], policies=["old-policy"])


async def _names(client: httpx.AsyncClient, path: str) -> list[str]:
    return [item["name"] for item in (await client.get(path)).json()]


async def _everything(client: httpx.AsyncClient) -> dict[str, list[str]]:
    return {
        "responders": await _names(client, "/api/v1/responders"),
        "schedules": await _names(client, "/api/v1/schedules"),
        "policies": await _names(client, "/api/v1/escalation-policies"),
    }


@pytest.fixture
async def applied(client: httpx.AsyncClient) -> httpx.AsyncClient:
    resp = await client.post("/api/v1/oncall-config", json=FULL)
    assert resp.status_code == 200, resp.text
    return client


async def _apply(client: httpx.AsyncClient, doc: dict[str, Any], **params: str) -> httpx.Response:
    return await client.post("/api/v1/oncall-config", json=doc, params=params)


async def test_without_prune_what_the_file_dropped_lingers(applied: httpx.AsyncClient) -> None:
    resp = await _apply(applied, SMALLER)
    assert resp.status_code == 200
    assert resp.json()["removed"] == 0
    assert "dave" in await _names(applied, "/api/v1/responders")


async def test_prune_removes_what_the_file_no_longer_names(applied: httpx.AsyncClient) -> None:
    resp = await _apply(applied, SMALLER, prune="true")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["updated"], body["unchanged"], body["removed"]) == (0, 0, 7, 2)
    assert body["dry_run"] is False
    assert [c for c in body["changes"] if c["change"] == "removed"] == [
        {"kind": "responder", "name": "dave", "change": "removed"},
        {"kind": "policy", "name": "old-policy", "change": "removed"},
    ]
    assert await _everything(applied) == {
        "responders": ["alice", "bob", "carol"],
        "schedules": ["ops"],
        "policies": ["checkout-oncall", "default", "storage-oncall"],
    }
    again = await _apply(applied, SMALLER, prune="true")
    assert again.json()["removed"] == 0


async def test_dry_run_answers_the_diff_and_writes_nothing(applied: httpx.AsyncClient) -> None:
    doc = without(SMALLER)
    doc["responders"].append({"name": "erin", "phone": "+15551230005"})
    doc["responders"][0]["time_zone"] = "Europe/Berlin"
    before = await _everything(applied)
    resp = await _apply(applied, doc, prune="true", dry_run="true")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["dry_run"] is True
    assert [
        (c["kind"], c["name"], c["change"]) for c in body["changes"] if c["change"] != "unchanged"
    ] == [
        ("responder", "alice", "updated"),
        ("responder", "erin", "created"),
        ("responder", "dave", "removed"),
        ("policy", "old-policy", "removed"),
    ]
    assert await _everything(applied) == before
    alice = (await applied.get("/api/v1/responders/alice")).json()
    assert alice["time_zone"] == "UTC"


async def test_prune_leaves_kinds_the_file_has_no_key_for(applied: httpx.AsyncClient) -> None:
    resp = await _apply(applied, {"policies": SMALLER["policies"]}, prune="true")
    assert resp.status_code == 200, resp.text
    assert resp.json()["removed"] == 1  # old-policy; every responder stays
    assert await _names(applied, "/api/v1/responders") == ["alice", "bob", "carol", "dave"]


async def _open_storage_incident(client: httpx.AsyncClient) -> int:
    payload = am_payload([am_alert("d15cf01100000001", alertname="DiskFull", instance="db1")])
    resp = await client.post("/api/v1/webhooks/alertmanager", json=payload)
    assert resp.status_code == 200, resp.text
    number: int = resp.json()["incidents"][0]
    return number


async def test_prune_refuses_what_open_incidents_page_through_and_changes_nothing(
    applied: httpx.AsyncClient,
) -> None:
    number = await _open_storage_incident(applied)  # routed to storage-oncall
    doc = without(FULL, responders=["carol", "dave"], policies=["storage-oncall", "old-policy"])
    doc["responders"].append({"name": "erin", "phone": "+15551230005"})
    before = await _everything(applied)
    resp = await _apply(applied, doc, prune="true")
    assert resp.status_code == 409
    assert resp.json()["detail"] == (
        f"--prune would remove what open incidents page through: policy 'storage-oncall'"
        f" (#{number}); responder 'carol' (policy 'storage-oncall' of #{number})"
        " (resolve them first, or keep these in the file)"
    )
    assert await _everything(applied) == before, "not even erin was added"

    resolved = await applied.post(f"/api/v1/incidents/{number}/resolve", json={"by": "alice"})
    assert resolved.status_code == 200
    # Resolved, the incident no longer holds them; the rules' route still does.
    routed = await _apply(applied, doc, prune="true")
    assert routed.status_code == 400
    assert routed.json()["detail"] == (
        "--prune would leave these without what they name: policy 'storage-oncall'"
        " (named by the rules: routes.1.policy)"
    )
    assert await _everything(applied) == before


async def test_prune_refuses_to_leave_a_reference_behind(applied: httpx.AsyncClient) -> None:
    resp = await _apply(applied, without(FULL, responders=["bob"]), prune="true")
    assert resp.status_code == 400
    assert resp.json()["detail"] == (
        "--prune would leave these without what they name:"
        " schedule 'ops' (layer 'weekly') uses responder 'bob'"
    )
    assert "bob" in await _names(applied, "/api/v1/responders")


async def test_prune_needs_the_admin_scope(applied: httpx.AsyncClient) -> None:
    created = await applied.post("/api/v1/tokens", json={"name": "w", "scope": "write"})
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    resp = await applied.post(
        "/api/v1/oncall-config", json=SMALLER, params={"prune": "true"}, headers=headers
    )
    assert resp.status_code == 403
    assert "dave" in await _names(applied, "/api/v1/responders")


# --- klaxon apply --prune / --dry-run ----------------------------------------------


async def klaxon_apply(db: str, *args: str) -> Result:
    env = {"KLAXON_DATABASE_URL": db, "KLAXON_CONFIG": str(RULES)}

    def run() -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, ["apply", *args], env=env)
        finally:
            get_settings.cache_clear()

    return await asyncio.to_thread(run)


def _file(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_cli_dry_run_prints_the_diff_per_kind_and_writes_nothing(
    applied: httpx.AsyncClient, db: str, tmp_path: Path
) -> None:
    doc = without(SMALLER)
    doc["responders"].append({"name": "erin", "phone": "+15551230005"})
    path = _file(tmp_path, doc)
    result = await klaxon_apply(db, "--prune", "--dry-run", "-f", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "responder/erin added\n"
        "responder/dave removed\n"
        "policy/old-policy removed\n"
        f"{path}: 4 responders, 1 schedules, 3 policies: 1 created, 0 updated, 7 unchanged,"
        " 2 removed (dry run, nothing written)\n"
    )
    assert await _names(applied, "/api/v1/responders") == ["alice", "bob", "carol", "dave"]

    done = await klaxon_apply(db, "--prune", "-f", str(path))
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[:3] == result.stdout.splitlines()[:3]
    assert await _names(applied, "/api/v1/responders") == ["alice", "bob", "carol", "erin"]


async def test_cli_prune_refuses_while_an_open_incident_pages_through_it(
    applied: httpx.AsyncClient, db: str, tmp_path: Path
) -> None:
    number = await _open_storage_incident(applied)
    path = _file(tmp_path, without(FULL, responders=["carol", "dave"], policies=["storage-oncall"]))
    before = await _everything(applied)
    result = await klaxon_apply(db, "--prune", "-f", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"policy 'storage-oncall' (#{number})" in result.stderr
    assert result.stderr.endswith("; nothing was written\n")
    assert await _everything(applied) == before
