"""A policy's ``ack`` (who may acknowledge from a phone): set by the apply file and
by the API, stored, a change of it is an update, and a bad value names the field."""

from __future__ import annotations

import httpx
import pytest

from app.apply.config import ConfigError, parse_config

DOC = """\
responders:
  - name: ann
    phone: "+15551230001"
policies:
  - name: pay-oncall
    ack: paged-only
    steps:
      - targets: {responders: [ann]}
"""


def test_the_apply_file_takes_ack_and_names_a_bad_value_with_its_line() -> None:
    assert parse_config(DOC).policies[0].ack == "paged-only"
    assert parse_config(DOC.replace("    ack: paged-only\n", "")).policies[0].ack == "anyone"
    with pytest.raises(ConfigError) as refused:
        parse_config(DOC.replace("paged-only", "paged"), "oncall.yaml")
    assert len(refused.value.errors) == 1
    assert refused.value.errors[0].startswith("oncall.yaml:6: policies.0.ack: Input should be")


async def test_ack_is_stored_and_a_change_of_it_is_an_update(client: httpx.AsyncClient) -> None:
    doc = parse_config(DOC).model_dump(mode="json", exclude_unset=True)
    first = await client.post("/api/v1/oncall-config", json=doc)
    assert first.json()["created"] == 2, first.text
    policy = (await client.get("/api/v1/escalation-policies/pay-oncall")).json()
    assert policy["ack"] == "paged-only"

    assert (await client.post("/api/v1/oncall-config", json=doc)).json()["unchanged"] == 2
    doc["policies"][0]["ack"] = "anyone"
    changed = await client.post("/api/v1/oncall-config", json=doc)
    assert (changed.json()["updated"], changed.json()["unchanged"]) == (1, 1)
    body = {"steps": doc["policies"][0]["steps"], "ack": "paged-only"}
    put = await client.put("/api/v1/escalation-policies/pay-oncall", json=body)
    assert put.status_code == 200
    assert (await client.get("/api/v1/escalation-policies/pay-oncall")).json()["ack"] == (
        "paged-only"
    )
    bad = await client.put(
        "/api/v1/escalation-policies/pay-oncall", json={**body, "ack": "managers"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "ack"]
