"""The post-mortem's Impact states the worst recorded, not the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.review.impact import impact_rank, worst

T0 = datetime(2026, 11, 26, 14, 35, tzinfo=UTC)


def _triage(minutes: int, field: str, value: object) -> dict[str, Any]:
    return {
        "kind": "triage",
        "at": T0 + timedelta(minutes=minutes),
        "data": {"field": field, "value": value},
    }


def _incident(**fields: Any) -> dict[str, Any]:
    return {"severity": "SEV2", "created_at": T0, "updated_at": T0, **fields}


def test_a_percentage_outranks_a_plain_figure() -> None:
    assert impact_rank("50% of payments failing") > impact_rank("5% failing, 2000 requests")
    assert impact_rank("~3k checkouts failing") > impact_rank("1000 checkouts failing")
    assert impact_rank("errors back to normal") < impact_rank("1 region down")


def test_the_worst_is_kept_as_the_impact_recovers() -> None:
    events = [
        {"kind": "triggered", "at": T0, "data": {"severity": "SEV3"}},
        _triage(5, "impact", "50% of checkout requests failing"),
        _triage(5, "affected_customers", "1000-5000"),
        {"kind": "severity_changed", "at": T0, "data": {"from": "SEV3", "to": "SEV1"}},
        _triage(9, "impact", "5% of checkout requests failing"),
        _triage(9, "affected_customers", "200"),
        {"kind": "severity_changed", "at": T0, "data": {"from": "SEV1", "to": "SEV2"}},
        _triage(12, "impact", None),
        _triage(13, "impact", "Errors back to normal"),
    ]
    found = worst(_incident(impact="Errors back to normal", affected_customers="200"), events)
    assert (found.severity, found.final_severity) == ("SEV1", "SEV2")
    assert found.impact is not None and found.impact.value == "50% of checkout requests failing"
    assert found.impact.at == T0 + timedelta(minutes=5)
    assert found.impacts_recorded == 3
    assert found.customers is not None and found.customers.value == "1000-5000"


def test_among_statements_without_figures_the_latest_is_kept() -> None:
    events = [_triage(1, "impact", "Checkout slow"), _triage(2, "impact", "Checkout down")]
    found = worst(_incident(impact="Checkout down"), events)
    assert found.impact is not None and found.impact.value == "Checkout down"
    assert found.impacts_recorded == 2


def test_an_impact_given_when_reported_counts() -> None:
    found = worst(_incident(impact="Payments down"), [])
    assert found.impact is not None and (found.impact.value, found.impact.at) == (
        "Payments down",
        T0,
    )
    assert found.customers is None
