"""A policy removed after the rules that name it loaded: its incidents page through
``default``, and the timeline and a metric say so. A responder removed by
``apply --prune`` keeps their name on past timelines."""

from __future__ import annotations

import copy

from prometheus_client import REGISTRY

from app.apply import document
from app.apply.config import OnCallConfig
from tests.escalation.helpers import bare_checkout_alert, sms_said, timeline_messages
from tests.paging import ALICE, BOB, CAROL, ONCALL, Paging, open_incident

MISSING = "klaxon_escalation_policy_missing_total"


async def _prune(paging: Paging, **dropped: list[str]) -> list[tuple[str, str]]:
    """Apply ``ONCALL`` without the ``dropped`` names, pruned, as ``klaxon apply --prune``
    does where the rules file differs (no route's policy is kept); what it removed."""
    doc = copy.deepcopy(ONCALL)
    for section, names in dropped.items():
        doc[section] = [item for item in doc[section] if item["name"] not in names]
    async with paging.app.state.runtime.sessions() as session, session.begin():
        changes = await document.apply_document(
            session,
            OnCallConfig.model_validate(doc),
            now=paging.clock.now(),
            by="test",
            prune_missing=True,
        )
    return [(c.kind, c.name) for c in changes if c.change == "removed"]


async def test_a_policy_deleted_after_the_rules_loaded_pages_default_and_says_which(
    paging: Paging,
) -> None:
    # The rules route service=checkout to checkout-oncall; it is then removed
    # (by `klaxon apply --prune` run where the rules file differs).
    assert await _prune(paging, policies=["checkout-oncall"]) == [("policy", "checkout-oncall")]
    before = REGISTRY.get_sample_value(MISSING, {"policy": "checkout-oncall"}) or 0.0

    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()
    await paging.tick(minutes=10)

    timeline = await timeline_messages(paging, number)
    said = "Escalation policy checkout-oncall does not exist: paging through policy default instead"
    assert timeline.count(said) == 1
    assert "Escalation policy default exhausted without acknowledgement" in timeline
    assert paging.texts_to(ALICE) == [] and paging.texts_to(BOB) == []
    assert len(paging.calls_to(CAROL)) == 1, "default's second step pages carol"
    after = REGISTRY.get_sample_value(MISSING, {"policy": "checkout-oncall"})
    assert after == before + 1


async def test_prune_removes_a_responder_with_past_pages_and_keeps_their_history(
    paging: Paging,
) -> None:
    number = await open_incident(paging, bare_checkout_alert())
    await paging.tick()
    assert sms_said(await paging.sms_reply(ALICE, f"{number}R")) == f"#{number} resolved"
    removed = await _prune(
        paging, responders=["alice"], schedules=["checkout-primary"], policies=["checkout-oncall"]
    )
    assert sorted(removed) == [
        ("policy", "checkout-oncall"),
        ("responder", "alice"),
        ("schedule", "checkout-primary"),
    ]
    assert (await paging.api.get("/api/v1/responders/alice")).status_code == 404
    timeline = await timeline_messages(paging, number)
    assert "Resolved by alice via sms" in timeline
    assert any(m.startswith("Step 1: paging alice") for m in timeline)
