"""deploy/prometheus/klaxon-rules.yml: valid for Prometheus, each alert proven to
fire on the right series by promtool's unit tests, on metrics Klaxon exports."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

import app.metrics  # noqa: F401  (registers Klaxon's metrics)
from tests.deploy._support import (
    PROMETHEUS_RULES,
    PROMETHEUS_RULES_TESTS,
    load_yaml,
    run,
    tool,
)


def _alert_rules() -> list[dict[str, str]]:
    rules = load_yaml(PROMETHEUS_RULES)
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_check_rules() -> None:
    result = run([tool("promtool"), "check", "rules", str(PROMETHEUS_RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run(
        [tool("promtool"), "test", "rules", PROMETHEUS_RULES_TESTS.name],
        cwd=PROMETHEUS_RULES_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_where_it_fires() -> None:
    tests = load_yaml(PROMETHEUS_RULES_TESTS)
    firing = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert firing == {rule["alert"] for rule in _alert_rules()}


def test_the_rules_use_only_metrics_klaxon_exports() -> None:
    exported = {
        sample_name
        for collector in REGISTRY.collect()
        if collector.name.startswith("klaxon_")
        for sample_name in (
            collector.name,
            f"{collector.name}_total",
            f"{collector.name}_bucket",
            f"{collector.name}_count",
            f"{collector.name}_sum",
        )
    }
    used = {name for rule in _alert_rules() for name in re.findall(r"klaxon_\w+", rule["expr"])}
    assert used, "the rules should watch Klaxon's own metrics"
    assert used <= exported, used - exported
