"""Nothing internal reaches the public page: strings planted in an incident's
alert labels and annotations, its title and triage, its responders, its
internal status updates, the publisher's token name and maintenance windows'
names, reasons, authors, matchers and services (of a public window and of one
that is not) are looked for in every field of every JSON document, in the HTML
and in the feeds."""

from __future__ import annotations

from typing import Any

import httpx

from app.statuspage.v2 import DOCUMENTS
from tests.conftest import load_fixture
from tests.statuspage.conftest import public_update

PLANTED = {
    "label": "plantedlabelvalue",
    "label_name": "plantedlabelname",
    "annotation": "plantedannotation",
    "instance": "planted-db-host-7",
    "title": "plantedincidenttitle",
    "impact": "plantedinternalimpact",
    "responder": "plantedresponder",
    "update": "plantedinternalupdate",
    "update_author": "plantedupdateauthor",
    "note": "plantednote",
    "token": "plantedcommander",
    "window_name": "plantedwindowname",
    "window_reason": "plantedwindowreason",
    "window_author": "plantedwindowauthor",
    "window_matcher": "plantedwindowmatcher",
    "window_service": "plantedwindowservice",
    "private_window": "plantedprivatewindow",
}


async def _windows_full_of_secrets(client: httpx.AsyncClient) -> None:
    """A public window in force now (the test clock's 12:00) and one tomorrow,
    both full of internal strings, and a window not public at all."""
    public = {
        "reason": PLANTED["window_reason"],
        "author": PLANTED["window_author"],
        "matchers": [f'team="{PLANTED["window_matcher"]}"'],
        "services": ["storage", PLANTED["window_service"]],
        "public_title": "Storage upgrade",
        "public_description": "Uploads may pause for a minute.",
    }
    windows = [
        {
            **public,
            "name": PLANTED["window_name"],
            "starts_at": "2026-11-26T11:00:00Z",
            "ends_at": "2026-11-26T13:00:00Z",
        },
        {
            **public,
            "name": PLANTED["window_name"] + "-2",
            "starts_at": "2026-11-27T11:00:00Z",
            "ends_at": "2026-11-27T13:00:00Z",
        },
        {
            "name": PLANTED["private_window"],
            "reason": PLANTED["private_window"],
            "services": ["checkout"],
            "starts_at": "2026-11-26T11:00:00Z",
            "ends_at": "2026-11-27T13:00:00Z",
        },
    ]
    for body in windows:
        resp = await client.post("/api/v1/maintenance", json=body)
        assert resp.status_code == 201, resp.text


def strings(value: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else [str(value)]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [what for what, planted in PLANTED.items() if planted in lowered]


async def _incident_full_of_secrets(client: httpx.AsyncClient) -> int:
    payload = load_fixture("02-firing-DiskFull-critical-annotations.json")
    for alert in payload["alerts"]:
        alert["labels"] |= {
            "team": PLANTED["label"],
            PLANTED["label_name"]: "x",
            "instance": PLANTED["instance"],
        }
        alert["annotations"]["summary"] = PLANTED["annotation"]
    resp = await client.post("/api/v1/webhooks/alertmanager", json=payload)
    assert resp.status_code == 200, resp.text
    [incident] = (await client.get("/api/v1/incidents")).json()["items"]
    number: int = incident["number"]
    calls = [
        (
            "PATCH",
            f"/api/v1/incidents/{number}",
            {"title": PLANTED["title"], "impact": PLANTED["impact"]},
        ),
        ("PUT", f"/api/v1/responders/{PLANTED['responder']}", {"phone": "+15551230077"}),
        ("POST", f"/api/v1/incidents/{number}/responders", {"responder": PLANTED["responder"]}),
        (
            "POST",
            f"/api/v1/incidents/{number}/updates",
            {"phase": "identified", "message": PLANTED["update"], "by": PLANTED["update_author"]},
        ),
        ("POST", f"/api/v1/incidents/{number}/notes", {"text": PLANTED["note"]}),
        ("POST", f"/api/v1/incidents/{number}/acknowledge", {"by": PLANTED["responder"]}),
    ]
    for method, url, body in calls:
        resp = await client.request(method, url, json=body)
        assert resp.status_code < 300, (url, resp.text)
    return number


async def test_nothing_internal_reaches_any_public_field(client: httpx.AsyncClient) -> None:
    number = await _incident_full_of_secrets(client)
    await _windows_full_of_secrets(client)
    token = (
        await client.post("/api/v1/tokens", json={"name": PLANTED["token"], "scope": "write"})
    ).json()
    commander = {"Authorization": f"Bearer {token['token']}"}
    resp = await client.post(
        f"/api/v1/incidents/{number}/public",
        json={
            "name": "Slow file uploads",
            "body": "Uploads are slow; we are on it.",
            "components": {"storage": "degraded_performance"},
        },
        headers=commander,
    )
    assert resp.status_code == 201, resp.text
    # The internal API does keep them: the planted strings are really there.
    internal = (await client.get(f"/api/v1/incidents/{number}")).text
    internal += (await client.get(f"/api/v1/incidents/{number}/public")).text
    internal += (await client.get(f"/api/v1/incidents/{number}/updates")).text
    internal += (await client.get(f"/api/v1/incidents/{number}/timeline")).text
    internal += (await client.get("/api/v1/maintenance")).text
    assert sorted(leaks(internal)) == sorted(PLANTED)
    await public_update(client, number, "monitoring", "A fix is out.")

    found: dict[str, list[str]] = {}
    for name in DOCUMENTS:
        resp = await client.get(f"/status/api/v2/{name}.json", headers={"Authorization": ""})
        fields = strings(resp.json())
        assert fields, name
        found[name] = [leak for field in fields for leak in leaks(field)]
        if name.startswith("scheduled-maintenances") or name == "summary":
            assert "Storage upgrade" in fields, name
    for path in ("/status", "/status/history.atom", "/status/history.rss"):
        body = (await client.get(path, headers={"Authorization": ""})).text
        assert "Slow file uploads" in body and "A fix is out." in body
        if path == "/status":
            assert "Storage upgrade" in body and "Uploads may pause for a minute." in body
        found[path] = leaks(body)
    assert found == {key: [] for key in found}
