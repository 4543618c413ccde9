"""The rules file: loading, and errors that say ``file:line:`` of what is wrong."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from app.rules.config import SEVERITIES, RulesError, load_rules, parse_rules

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "klaxon.example.yaml"
TEST_RULES = ROOT / "tests" / "fixtures" / "rules.yaml"


def errors_of(text: str, source: str = "rules.yaml") -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(textwrap.dedent(text), source)
    return caught.value.errors


def test_example_file_loads() -> None:
    rules = load_rules(EXAMPLE)
    assert [r.name for r in rules.severity_rules] == [
        "database-down-in-prod",
        "checkout-critical",
        "staging-is-never-urgent",
    ]
    assert [r.severity for r in rules.severity_rules] == ["SEV1", "SEV2", "SEV4"]
    assert [r.name for r in rules.routes] == ["payments", "infrastructure"]
    payments = rules.routes[0]
    assert payments.service == "payments"
    assert payments.policy == "payments-oncall"
    assert payments.group_by == ["alertname", "service"]
    assert [str(m) for m in payments.matchers] == ['service=~"pay.*|checkout"']
    assert rules.routes[1].group_by is None
    assert rules.default_route.policy == "default"


def test_test_fixture_rules_load() -> None:
    rules = load_rules(TEST_RULES)
    assert [r.name for r in rules.routes] == ["checkout", "storage", "storm"]


def test_matchers_in_one_list_item_are_anded_and_items_concatenate() -> None:
    rules = parse_rules(
        """
        severity_rules:
          - matchers: ['{a="1", b="2"}', 'c=~"x|y"']
            severity: SEV1
        """
    )
    assert [m.name for m in rules.severity_rules[0].matchers] == ["a", "b", "c"]


def test_a_single_matcher_string_is_accepted_for_matchers() -> None:
    rules = parse_rules("routes:\n  - name: a\n    matchers: 'x=\"1\"'\n")
    assert [str(m) for m in rules.routes[0].matchers] == ['x="1"']


def test_empty_file_gives_empty_rules() -> None:
    rules = parse_rules("# nothing yet\n")
    assert rules.severity_rules == [] and rules.routes == []
    assert rules.default_route.policy is None


def test_severities_are_sev1_to_sev4() -> None:
    assert SEVERITIES == ("SEV1", "SEV2", "SEV3", "SEV4")


def test_bad_severity_names_its_line() -> None:
    errors = errors_of(
        """\
        severity_rules:
          - name: ok
            matchers: ['x="1"']
            severity: SEV2
          - name: bad
            matchers: ['x="2"']
            severity: SEV9
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:7: severity_rules.1.severity: ")
    assert "SEV1" in errors[0]


def test_bad_regex_names_the_line_of_the_offending_matcher() -> None:
    errors = errors_of(
        """\
        severity_rules:
          - name: bad-regex
            matchers:
              - 'alertname="X"'
              - 'service=~"pay(ments"'
            severity: SEV1
        """
    )
    assert errors == [
        "rules.yaml:5: severity_rules.0.matchers.1: invalid regular expression "
        "'pay(ments': missing ), unterminated subpattern at position 3"
    ]


def test_bad_regex_in_a_flow_list_names_that_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: r
            matchers: ['a="1"', 'b=~"["']
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:3: routes.0.matchers.1: invalid regular expression")


def test_unparseable_matcher_names_its_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: r
            matchers:
              - 'a="1"'
              - 'b=<>"2"'
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:5: routes.0.matchers.1: cannot parse matcher")


def test_matchers_that_are_not_strings_name_the_key_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: r
            matchers:
              - 5
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:3: routes.0.matchers: must be a list of matcher")


def test_unknown_key_in_a_route_names_its_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: payments
            matchers: ['service="pay"']
            polcy: payments-oncall
        """
    )
    assert errors == ["rules.yaml:4: routes.0.polcy: Extra inputs are not permitted"]


def test_unknown_key_with_a_block_value_names_the_key_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: payments
            group_bye:
              - alertname
        """
    )
    assert errors == ["rules.yaml:3: routes.0.group_bye: Extra inputs are not permitted"]


def test_unknown_top_level_key_names_its_line() -> None:
    errors = errors_of(
        """\
        routes: []
        severity_rule: []
        """
    )
    assert errors == ["rules.yaml:2: severity_rule: Extra inputs are not permitted"]


def test_missing_route_name_names_the_route_line() -> None:
    errors = errors_of(
        """\
        routes:
          - name: first
            policy: a

          - service: nameless
            policy: b
        """
    )
    assert errors == ["rules.yaml:5: routes.1.name: Field required"]


def test_duplicate_route_name_names_the_second_use() -> None:
    errors = errors_of(
        """\
        routes:
          - name: payments
            service: a
          - name: infra
          - name: payments
            service: b
        """
    )
    assert errors == ["rules.yaml:5: routes.2.name: route name 'payments' is used twice"]


def test_invalid_yaml_names_the_line_of_the_problem() -> None:
    errors = errors_of(
        """\
        routes:
          - name: a
            policy: p
           service: s
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:4: invalid YAML: ")


def test_invalid_yaml_tab_indentation_names_its_line() -> None:
    errors = errors_of("routes:\n  - name: a\n\tpolicy: p\n")
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:3: invalid YAML: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [("- a\n- b\n", 1), ("just a string\n", 1), ("# header\n\n- a\n", 3), ("42\n", 1)],
)
def test_top_level_that_is_not_a_mapping_is_an_error(text: str, line: int) -> None:
    assert errors_of(text) == [f"rules.yaml:{line}: the rules file must be a mapping"]


def test_section_of_the_wrong_type_names_its_line() -> None:
    errors = errors_of(
        """\
        severity_rules: []
        routes:
          name: not-a-list
        """
    )
    assert len(errors) == 1
    assert errors[0].startswith("rules.yaml:2: routes: ")


def test_multiple_errors_are_reported_together_in_file_order() -> None:
    errors = errors_of(
        """\
        severity_rules:
          - matchers: ['x=~"("']
            severity: SEV1
          - matchers: ['y="1"']
            severity: urgent
        routes:
          - name: a
            recieve: nobody
          - policy: p
        default_route:
          policy: 5
        """
    )
    assert [e.split(": ")[0] for e in errors] == [
        "rules.yaml:2",
        "rules.yaml:5",
        "rules.yaml:8",
        "rules.yaml:9",
        "rules.yaml:11",
    ]
    assert "severity_rules.0.matchers.0: invalid regular expression" in errors[0]
    assert "severity_rules.1.severity" in errors[1]
    assert "routes.0.recieve: Extra inputs are not permitted" in errors[2]
    assert "routes.1.name: Field required" in errors[3]
    assert "default_route.policy" in errors[4]


def test_rules_error_message_joins_all_errors() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules("routes:\n  - policy: a\n  - policy: b\n", "f.yaml")
    assert str(caught.value) == "\n".join(caught.value.errors)
    assert len(caught.value.errors) == 2


def test_load_rules_names_errors_with_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "klaxon.yaml"
    path.write_text("routes:\n  - name: a\n    severity: SEV1\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == [f"{path}:3: routes.0.severity: Extra inputs are not permitted"]


def test_missing_file_is_a_rules_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == [f"{path}: cannot read the rules file: No such file or directory"]


def test_directory_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path)
    assert caught.value.errors == [f"{tmp_path}: cannot read the rules file: Is a directory"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_a_rules_error(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("routes: []\n")
    path.chmod(0)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == [f"{path}: cannot read the rules file: Permission denied"]


def test_permission_error_is_a_rules_error_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chmod test above is skipped as root; this one always runs.
    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    path = tmp_path / "secret.yaml"
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == [f"{path}: cannot read the rules file: Permission denied"]


def test_file_that_is_not_utf8_is_a_rules_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"routes:\n  - name: caf\xe9\n")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.errors == [f"{path}:2: the rules file is not valid UTF-8"]
