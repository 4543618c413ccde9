"""``klaxon incidents changes N`` and ``klaxon changes`` against a real Klaxon over HTTP."""

from __future__ import annotations

import json
import re

from tests.cli.conftest import Served, klaxon

Env = dict[str, str]


async def _ingest(served: Served) -> dict[str, str]:
    made = await served.api.post("/api/v1/tokens", json={"name": "ci", "scope": "ingest"})
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def _deploy(served: Served, headers: dict[str, str], **fields: str) -> None:
    body = {"service": "web", "summary": "Deployment #5678 to production", **fields}
    resp = await served.api.post("/api/v1/webhooks/change", json=body, headers=headers)
    assert resp.status_code == 201, resp.text


async def test_incident_changes_lists_the_deploys_before_it(served: Served, admin: Env) -> None:
    headers = await _ingest(served)
    await _deploy(served, headers, version="v5678", who="alice", when="2026-11-26T11:30:00Z")
    await _deploy(served, headers, service="search", summary="Search deploy")
    reported = await served.api.post(
        "/api/v1/incidents", json={"title": "Checkout down", "severity": "SEV2", "service": "web"}
    )
    number = reported.json()["number"]

    result = await klaxon("incidents", "changes", str(number), env=admin)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Changes on web since 2026-11-26 11:00 UTC:"
    assert re.split(r"\s{2,}", lines[1]) == ["AT", "SERVICE", "CHANGE", "VERSION", "BY"]
    assert re.split(r"\s{2,}", lines[2]) == [
        "2026-11-26 11:30 UTC",
        "web",
        "Deployment #5678 to production",
        "v5678",
        "alice",
    ]
    assert len(lines) == 3

    as_json = await klaxon("incidents", "changes", str(number), "--json", env=admin)
    assert json.loads(as_json.stdout)["items"][0]["version"] == "v5678"
    missing = await klaxon("incidents", "changes", "999", env=admin)
    assert missing.exit_code != 0
    assert "999" in missing.stderr or "incident" in missing.stderr.lower()


async def test_changes_lists_recent_changes_by_service(served: Served, admin: Env) -> None:
    headers = await _ingest(served)
    assert (await klaxon("changes", env=admin)).stdout == "no changes\n"
    await _deploy(served, headers)
    await _deploy(served, headers, service="search", summary="Search deploy")
    result = await klaxon("changes", "--service", "search", env=admin)
    assert result.exit_code == 0, result.output
    body = result.stdout.splitlines()[1:]
    assert [re.split(r"\s{2,}", line)[1:3] for line in body] == [["search", "Search deploy"]]
