"""The JSON documents have Atlassian Statuspage's public v2 shapes: every field
of Statuspage's documented examples (tests/statuspage/fixtures/) is present,
with a value of the same JSON type, in every document that carries it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from app.statuspage.v2 import DOCUMENTS
from tests.statuspage.conftest import busy_page, document

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = json.loads((FIXTURES / "summary.example.json").read_text())
FIELDS = json.loads((FIXTURES / "component.fields.json").read_text())
REQUIRED = json.loads((FIXTURES / "summary.required.json").read_text())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_errors(example: Any, ours: Any, where: str = "") -> list[str]:
    """Where ``ours`` lacks a field of ``example`` or holds another type; a null
    in the example allows a string, as Statuspage's nullable fields do."""
    if isinstance(example, dict):
        if not isinstance(ours, dict):
            return [f"{where}: {json_type(ours)}, not an object"]
        errors = []
        for key, value in example.items():
            if key not in ours:
                errors.append(f"{where}.{key}: missing")
            else:
                errors += shape_errors(value, ours[key], f"{where}.{key}")
        return errors
    if isinstance(example, list):
        if not isinstance(ours, list):
            return [f"{where}: {json_type(ours)}, not an array"]
        return (
            [e for item in ours for e in shape_errors(example[0], item, f"{where}[]")]
            if example
            else []
        )
    expected, got = json_type(example), json_type(ours)
    if expected == got or (expected == "null" and got == "string"):
        return []
    return [f"{where}: {got}, not {expected}"]


def declared_errors(declared: dict[str, str], ours: dict[str, Any], where: str) -> list[str]:
    return [
        f"{where}.{key}: {json_type(ours.get(key))}, not {kinds}"
        for key, kinds in declared.items()
        if key not in ours or json_type(ours[key]) not in kinds.split("|")
    ]


async def test_every_document_has_the_documented_shape(client: httpx.AsyncClient) -> None:
    await busy_page(client)
    docs = {name: await document(client, name) for name in DOCUMENTS}
    errors: list[str] = []
    for name, doc in docs.items():
        errors += shape_errors({"page": EXAMPLE["page"]}, doc, name)
        errors += declared_errors(FIELDS["page"], doc["page"], f"{name}.page")
        for key in ("status", "components", "incidents"):
            if key in doc:
                errors += shape_errors({key: EXAMPLE[key]}, doc, name)
        for component in doc.get("components", []):
            errors += declared_errors(FIELDS["component"], component, f"{name}.components[]")
            errors += [f"{name}: {k} missing" for k in REQUIRED["component"] if k not in component]
            # Statuspage also has under_maintenance, which that list leaves out.
            assert component["status"] in [*REQUIRED["component_status"], "under_maintenance"]
        for incident in doc.get("incidents", []):
            assert incident["impact"] in REQUIRED["incident_impact"]
            errors += [f"{name}: {k} missing" for k in REQUIRED["incident"] if k not in incident]
            for update in incident["incident_updates"]:
                errors += [
                    f"{name}: {k} missing" for k in REQUIRED["incident_update"] if k not in update
                ]
    errors += [f"summary: {k} missing" for k in REQUIRED["summary"] if k not in docs["summary"]]
    assert errors == []
    assert docs["summary"]["incidents"] and docs["incidents"]["incidents"]
    assert len(docs["incidents"]["incidents"]) == 2
    assert len(docs["incidents/unresolved"]["incidents"]) == 1


async def test_scheduled_maintenance_is_an_empty_list_until_windows_exist(
    client: httpx.AsyncClient,
) -> None:
    doc = await document(client, "scheduled-maintenances")
    assert doc["scheduled_maintenances"] == []
    assert (await document(client, "summary"))["scheduled_maintenances"] == []


def test_the_shape_check_catches_a_missing_field_and_a_wrong_type() -> None:
    """The check above can fail."""
    good = EXAMPLE["components"][0]
    assert shape_errors(good, dict(good)) == []
    assert shape_errors(good, {k: v for k, v in good.items() if k != "position"}) == [
        ".position: missing"
    ]
    assert shape_errors(good, {**good, "position": "1"}) == [".position: string, not number"]
    assert declared_errors(FIELDS["page"], {**EXAMPLE["page"]}, "p") == [
        "p.time_zone: null, not string"
    ]
