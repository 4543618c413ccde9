"""The runbook registry of the rules file: validation that names the line, and
which runbook an incident's labels find."""

from __future__ import annotations

import pytest

from app.rules import RulesError, parse_rules
from app.rules.runbooks import find_runbook, incident_labels

REGISTRY = """\
runbooks:
  - name: pool
    matchers: ['alertname="DBPoolExhausted"']
    text: "# Database Connection Pool Exhausted"
  - name: payments
    matchers: ['service=~"pay.*"']
    url: https://runbooks.example/payments
  - name: fallback
    url: https://runbooks.example/generic
"""


def test_the_first_matching_runbook_wins_and_no_matchers_match_all() -> None:
    rules = parse_rules(REGISTRY)
    pool = find_runbook(rules, {"alertname": "DBPoolExhausted", "service": "payments"})
    assert pool is not None and pool.name == "pool"
    payments = find_runbook(rules, {"service": "payments-api"})
    assert payments is not None and payments.url == "https://runbooks.example/payments"
    fallback = find_runbook(rules, {"service": "search"})
    assert fallback is not None and fallback.name == "fallback"


def test_no_registry_finds_nothing() -> None:
    assert find_runbook(parse_rules("routes: []\n"), {"service": "x"}) is None


def test_incident_labels_default_the_service_and_keep_the_label() -> None:
    assert incident_labels({"alertname": "X"}, "payments") == {
        "alertname": "X",
        "service": "payments",
    }
    assert incident_labels({"service": "pay-api"}, "payments") == {"service": "pay-api"}


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        (
            "  - matchers: ['service=\"x\"']\n    url: ftp://runbooks.example/x\n",
            3,
            "runbooks.0.url: must be an http:// or https:// URL",
        ),
        (
            "  - matchers: ['service=\"x\"']\n",
            2,
            "runbooks.0: a runbook needs exactly one of url and text",
        ),
        (
            "  - matchers: ['service=\"x\"']\n    url: https://a.example\n    text: b\n",
            2,
            "runbooks.0: a runbook needs exactly one of url and text",
        ),
        (
            "  - matchers: ['service=~\"(\"']\n    text: b\n",
            2,
            "runbooks.0.matchers.0: invalid regular expression",
        ),
        (
            "  - url: https://a.example\n    steps: [1]\n",
            3,
            "runbooks.0.steps: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_runbooks_are_named_with_their_line(entry: str, line: int, message: str) -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules("runbooks:\n" + entry, "rules.yaml")
    [error] = raised.value.errors
    assert error.startswith(f"rules.yaml:{line}: {message}")
