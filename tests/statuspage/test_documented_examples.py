"""Each JSON document against Statuspage's own documented example of it (the
metastatuspage.com ``/api`` examples, tests/statuspage/fixtures/metastatuspage/):
every field of the example is in Klaxon's document, with a value of the same
JSON type, down through its components, incidents and their updates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.statuspage.conftest import busy_page, document
from tests.statuspage.test_shapes import shape_errors

EXAMPLES = Path(__file__).parent / "fixtures" / "metastatuspage"
#: Klaxon's document → the file of its documented example.
FILES = {
    "summary": "summary.json",
    "status": "status.json",
    "components": "components.json",
    "incidents": "incidents.json",
    "incidents/unresolved": "incidents-unresolved.json",
    "scheduled-maintenances": "scheduled-maintenances.json",
}


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / FILES[name]).read_text())
    return loaded


@pytest.mark.parametrize("name", list(FILES))
async def test_document_has_every_field_of_statuspages_documented_example(
    client: httpx.AsyncClient, name: str
) -> None:
    await busy_page(client)
    ours = await document(client, name)
    documented = example(name)
    assert sorted(ours) == sorted(documented)
    assert shape_errors(documented, ours, name) == []
    for key in ("components", "incidents"):
        if key in documented:
            assert ours[key], f"{name}.{key} is empty: the check above compared nothing"


def test_the_documented_examples_agree_with_each_other() -> None:
    """The cut documents are the summary's parts, word for word."""
    summary = example("summary")
    assert example("status") == {"page": summary["page"], "status": summary["status"]}
    assert example("components")["components"] == summary["components"]
    assert example("incidents/unresolved")["incidents"] == summary["incidents"]
    assert example("incidents")["incidents"][0] == summary["incidents"][0]
    assert (
        example("scheduled-maintenances")["scheduled_maintenances"]
        == (summary["scheduled_maintenances"])
    )
