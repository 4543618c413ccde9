"""Severity classification, routing and incident grouping of one alert's labels."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from app.rules.classify import DEFAULT_SERVICE, Routing, classify, group_key, route
from app.rules.config import RulesError, RulesFile, parse_rules
from app.rules.holder import RulesHolder

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "klaxon.example.yaml"


def rules(text: str) -> RulesFile:
    return parse_rules(textwrap.dedent(text))


NO_RULES = parse_rules("")


# --- severity -----------------------------------------------------------------


def test_first_matching_severity_rule_wins() -> None:
    r = rules(
        """
        severity_rules:
          - matchers: ['env="prod"']
            severity: SEV1
          - matchers: ['service="web"']
            severity: SEV4
        """
    )
    assert classify(r, {"env": "prod", "service": "web"}) == "SEV1"
    assert classify(r, {"env": "dev", "service": "web"}) == "SEV4"


def test_severity_rule_order_matters() -> None:
    r = rules(
        """
        severity_rules:
          - matchers: ['service="web"']
            severity: SEV4
          - matchers: ['env="prod"']
            severity: SEV1
        """
    )
    assert classify(r, {"env": "prod", "service": "web"}) == "SEV4"


def test_severity_rule_needs_all_its_matchers() -> None:
    r = rules(
        """
        severity_rules:
          - matchers: ['env="prod"', 'alertname="DatabaseDown"']
            severity: SEV1
        """
    )
    assert classify(r, {"env": "prod", "alertname": "DatabaseDown"}) == "SEV1"
    assert classify(r, {"env": "prod", "alertname": "DiskFull", "severity": "critical"}) == "SEV2"


def test_severity_rule_beats_the_severity_label() -> None:
    r = rules(
        """
        severity_rules:
          - matchers: ['env=~"staging|dev"']
            severity: SEV4
        """
    )
    assert classify(r, {"env": "staging", "severity": "critical"}) == "SEV4"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("critical", "SEV2"),
        ("warning", "SEV3"),
        ("info", "SEV4"),
        ("CRITICAL", "SEV2"),
        ("Warning", "SEV3"),
        ("INFO", "SEV4"),
        ("page", "SEV3"),
        ("", "SEV3"),
        ("sev1", "SEV3"),
        ("SEV1", "SEV3"),
    ],
)
def test_without_a_rule_the_severity_label_decides(label: str, expected: str) -> None:
    assert classify(NO_RULES, {"alertname": "X", "severity": label}) == expected


def test_without_a_rule_or_severity_label_it_is_sev3() -> None:
    assert classify(NO_RULES, {"alertname": "X"}) == "SEV3"


def test_sev1_is_never_reached_without_a_rule() -> None:
    example = parse_rules(EXAMPLE.read_text())
    for value in ("critical", "CRITICAL", "sev1", "SEV1", "page", "emergency", "fatal", ""):
        labels = {"alertname": "Anything", "severity": value}
        assert classify(NO_RULES, labels) != "SEV1"
        assert classify(example, labels) != "SEV1"
    assert classify(example, {"alertname": "PostgresDown", "env": "prod"}) == "SEV1"


# --- routes ---------------------------------------------------------------------

ROUTES = """
routes:
  - name: payments
    matchers: ['service=~"pay.*"']
    service: payments
    policy: payments-oncall
    group_by: [alertname, service]
  - name: catch-prod
    matchers: ['env="prod"']
    policy: prod-oncall
  - name: infra
    matchers: ['team="infra"']
    service: infrastructure
default_route:
  policy: default-oncall
"""


def test_first_matching_route_wins() -> None:
    r = rules(ROUTES)
    routing = route(r, {"service": "payments-api", "env": "prod"})
    assert routing == Routing(
        route="payments",
        service="payments",
        policy="payments-oncall",
        group_by=("alertname", "service"),
    )
    assert route(r, {"env": "prod", "team": "infra"}).route == "catch-prod"
    assert route(r, {"env": "dev", "team": "infra"}).route == "infra"


def test_route_service_falls_back_to_the_service_label() -> None:
    routing = route(rules(ROUTES), {"env": "prod", "service": "search"})
    assert routing.route == "catch-prod"
    assert routing.service == "search"


def test_route_service_falls_back_to_default_without_a_label() -> None:
    routing = route(rules(ROUTES), {"env": "prod"})
    assert routing.service == DEFAULT_SERVICE == "default"


def test_route_without_policy_uses_the_default_route_policy() -> None:
    routing = route(rules(ROUTES), {"team": "infra"})
    assert routing.route == "infra"
    assert routing.service == "infrastructure"
    assert routing.policy == "default-oncall"
    assert routing.group_by is None


def test_no_matching_route_uses_the_default_route() -> None:
    routing = route(rules(ROUTES), {"alertname": "X", "service": "search"})
    assert routing == Routing(
        route="default", service="search", policy="default-oncall", group_by=None
    )


def test_default_route_service_and_group_by_apply() -> None:
    r = rules(
        """
        default_route:
          service: catch-all
          group_by: [alertname]
        """
    )
    routing = route(r, {"alertname": "X", "service": "search"})
    assert routing == Routing(
        route="default", service="catch-all", policy=None, group_by=("alertname",)
    )


def test_no_rules_route_everything_to_default_service() -> None:
    assert route(NO_RULES, {"alertname": "X"}) == Routing(
        route="default", service="default", policy=None, group_by=None
    )


# --- group keys -------------------------------------------------------------------


def routing_by(*names: str) -> Routing:
    return Routing(route="r", service="s", policy=None, group_by=names)


NO_GROUP_BY = Routing(route="r", service="s", policy=None, group_by=None)


def test_without_group_by_the_source_group_key_is_used() -> None:
    key = group_key(NO_GROUP_BY, {"alertname": "X", "instance": "a"}, 'am:{}:{alertname="X"}')
    assert key == 'am:{}:{alertname="X"}'


def test_group_by_ignores_other_labels() -> None:
    routing = routing_by("alertname", "service")
    a = group_key(routing, {"alertname": "X", "service": "web", "instance": "a"}, "src-1")
    b = group_key(routing, {"alertname": "X", "service": "web", "instance": "b"}, "src-2")
    assert a == b
    assert "src" not in a


def test_group_by_label_difference_gives_a_different_key() -> None:
    routing = routing_by("alertname", "service")
    a = group_key(routing, {"alertname": "X", "service": "web"}, "src")
    b = group_key(routing, {"alertname": "X", "service": "api"}, "src")
    assert a != b


def test_group_by_missing_label_differs_from_a_present_one() -> None:
    routing = routing_by("alertname", "service")
    a = group_key(routing, {"alertname": "X"}, "src")
    b = group_key(routing, {"alertname": "X", "service": "web"}, "src")
    assert a != b


def test_group_key_is_independent_of_label_and_group_by_order() -> None:
    labels = {"alertname": "X", "service": "web", "instance": "a"}
    reordered = dict(reversed(list(labels.items())))
    a = group_key(routing_by("alertname", "service"), labels, "src")
    b = group_key(routing_by("service", "alertname"), reordered, "src")
    assert a == b


def test_group_key_names_the_route() -> None:
    labels = {"alertname": "X"}
    a = group_key(Routing("one", "s", None, ("alertname",)), labels, "src")
    b = group_key(Routing("two", "s", None, ("alertname",)), labels, "src")
    assert a != b


def test_group_key_values_cannot_collide_through_separators() -> None:
    routing = routing_by("a", "b")
    x = group_key(routing, {"a": "1,b=2", "b": ""}, "src")
    y = group_key(routing, {"a": "1", "b": "2"}, "src")
    assert x != y


def test_group_by_all_labels_with_ellipsis() -> None:
    routing = routing_by("...")
    a = group_key(routing, {"alertname": "X", "instance": "a"}, "src")
    b = group_key(routing, {"instance": "a", "alertname": "X"}, "src")
    c = group_key(routing, {"alertname": "X", "instance": "b"}, "src")
    d = group_key(routing, {"alertname": "X", "instance": "a", "extra": "1"}, "src")
    assert a == b
    assert a != c
    assert a != d


def test_long_group_key_is_shortened_deterministically() -> None:
    routing = routing_by("...")
    labels = {f"label_{i:03}": "v" * 20 for i in range(100)}
    key = group_key(routing, labels, "src")
    assert len(key) <= 900
    assert key == group_key(routing, dict(reversed(list(labels.items()))), "src")
    changed = {**labels, "label_099": "w" * 20}  # past the kept prefix
    assert group_key(routing, changed, "src") != key


def test_long_source_group_key_is_shortened_too() -> None:
    long_key = "am:" + "x" * 2000
    key = group_key(NO_GROUP_BY, {"a": "1"}, long_key)
    assert len(key) <= 900
    assert key == group_key(NO_GROUP_BY, {"a": "1"}, long_key)
    assert key != group_key(NO_GROUP_BY, {"a": "1"}, long_key + "y")


def test_key_of_exactly_900_chars_is_kept() -> None:
    source_key = "k" * 900
    assert group_key(NO_GROUP_BY, {}, source_key) == source_key


# --- reloading ----------------------------------------------------------------


def test_holder_reload_picks_up_a_valid_new_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routes:\n  - name: a\n")
    holder = RulesHolder(path)
    assert [r.name for r in holder.current.routes] == ["a"]
    path.write_text("routes:\n  - name: b\n  - name: c\n")
    reloaded = holder.reload()
    assert holder.current is reloaded
    assert [r.name for r in holder.current.routes] == ["b", "c"]


def test_holder_reload_keeps_old_rules_when_the_new_file_is_invalid(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routes:\n  - name: a\n")
    holder = RulesHolder(path)
    old = holder.current
    path.write_text("routes:\n  - name: a\n  - name: a\n")
    with caplog.at_level(logging.ERROR), pytest.raises(RulesError) as caught:
        holder.reload()
    assert caught.value.errors == [f"{path}:3: routes.1.name: route name 'a' is used twice"]
    assert holder.current is old
    assert "keeping the old rules" in caplog.text


def test_holder_reload_keeps_old_rules_when_the_file_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routes:\n  - name: a\n")
    holder = RulesHolder(path)
    old = holder.current
    path.unlink()
    with pytest.raises(RulesError):
        holder.reload()
    assert holder.current is old


def test_holder_reload_keeps_old_rules_when_the_file_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routes:\n  - name: a\n")
    holder = RulesHolder(path)
    old = holder.current
    path.write_bytes(b"routes:\n  - name: \xff\n")
    with pytest.raises(RulesError):
        holder.reload()
    assert holder.current is old


def test_holder_refuses_an_invalid_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("routes: {\n")
    with pytest.raises(RulesError):
        RulesHolder(path)
