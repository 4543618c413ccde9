"""Actions in the rules file: what loads, and what is refused with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.escalation.policy import Step
from app.rules import RulesError, load_rules, parse_rules

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "klaxon.example.yaml"

GOOD = """\
automation:
  allowed_hosts: [rundeck.internal, "awx.internal:8443"]
actions:
  - name: restart-payments
    url: https://rundeck.internal/api/45/job/7f1c/run
    headers: {X-Rundeck-Auth-Token: "${secret.RUNDECK_TOKEN}"}
    body:
      options: {incident: "$number", service: "${labels.service}", why: "#$number: $title"}
    timeout: 5s
    deadline: 2m
  - name: awx-restart
    url: https://awx.internal:8443/api/v2/job_templates/12/launch/
    method: post
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(textwrap.dedent(text), "rules.yaml")
    return caught.value.errors


def test_actions_load_with_their_request_and_limits() -> None:
    rules = parse_rules(GOOD, "rules.yaml")
    restart = rules.action("restart-payments")
    assert restart is not None
    assert (restart.method, restart.timeout, restart.deadline) == ("POST", 5.0, 120.0)
    assert restart.body["options"]["service"] == "${labels.service}"
    awx = rules.action("awx-restart")
    assert awx is not None and awx.method == "POST" and awx.body is None
    assert rules.action("missing") is None


def test_a_url_outside_the_allowed_hosts_is_refused_at_its_line() -> None:
    text = GOOD.replace("https://awx.internal:8443/", "https://awx.internal:9999/")
    assert errors_of(text) == [
        "rules.yaml:12: actions.1.url: host 'awx.internal:9999' is not in automation.allowed_hosts"
    ]
    assert errors_of(GOOD.replace("rundeck.internal/api", "metadata.internal/api")) == [
        "rules.yaml:5: actions.0.url: host 'metadata.internal' is not in automation.allowed_hosts"
    ]


def test_without_allowed_hosts_no_action_may_call_anything() -> None:
    errors = errors_of(
        """
        actions:
          - {name: a, url: "http://127.0.0.1:9/run"}
        """
    )
    assert errors == [
        "rules.yaml:3: actions.0.url: host '127.0.0.1:9' is not in automation.allowed_hosts"
    ]


def test_an_unknown_placeholder_in_the_body_is_refused_naming_it() -> None:
    errors = errors_of(GOOD.replace("${labels.service}", "${incident.secret}"))
    assert len(errors) == 1
    assert errors[0].startswith(
        "rules.yaml:8: actions.0.body.options.service: unknown placeholder ${incident.secret}"
    )
    errors = errors_of(GOOD.replace('"#$number', '"costs $5 for #$number'))
    assert errors[0].startswith("rules.yaml:8: actions.0.body.options.why: ")
    assert "write $$ for a '$'" in errors[0]


def test_headers_take_only_secrets_never_incident_fields() -> None:
    errors = errors_of(GOOD.replace("${secret.RUNDECK_TOKEN}", "$title"))
    assert errors == [
        "rules.yaml:6: actions.0.headers.X-Rundeck-Auth-Token: a header takes only"
        " ${secret.NAME} (the environment variable KLAXON_SECRET_NAME), not ${title}"
    ]
    errors = errors_of(GOOD.replace("X-Rundeck-Auth-Token", "webhook-signature"))
    assert "header webhook-signature is Klaxon's own" in errors[0]


def test_a_url_with_credentials_or_another_scheme_is_refused() -> None:
    errors = errors_of(GOOD.replace("https://rundeck.internal", "https://u:p@rundeck.internal"))
    assert "must not carry a user or password" in errors[0]
    errors = errors_of(GOOD.replace("https://rundeck.internal", "file://rundeck.internal"))
    assert "must be an http:// or https:// URL" in errors[0]


def test_two_actions_of_one_name_are_refused() -> None:
    errors = errors_of(GOOD.replace("awx-restart", "restart-payments"))
    assert errors == ["rules.yaml:11: actions.1.name: action name 'restart-payments' is used twice"]


def test_a_bad_length_names_the_field() -> None:
    errors = errors_of(GOOD.replace("timeout: 5s", "timeout: soon"))
    assert errors[0].startswith("rules.yaml:9: actions.0.timeout: ")


def test_the_example_rules_declare_an_action_for_each_executor() -> None:
    rules = load_rules(EXAMPLE)
    assert [action.name for action in rules.actions] == [
        "restart-payments",
        "awx-clear-cache",
        "github-rollback",
        "st2-remediate",
        "restart-checkout",
    ]
    assert rules.webhooks == []  # make run sends nothing anywhere


def test_a_runbook_offers_only_an_action_of_the_file() -> None:
    runbook = """
runbooks:
  - matchers: ['service="payments"']
    url: https://runbooks.example/payments
    action: restart-payment
"""
    assert errors_of(GOOD + runbook) == [
        "rules.yaml:18: runbooks.0.action: runbook action 'restart-payment' is not in actions"
    ]
    offered = parse_rules(GOOD + runbook.replace("restart-payment\n", "restart-payments\n"), "r")
    assert offered.runbooks[0].action == "restart-payments"


@pytest.mark.parametrize(
    ("step", "refused"),
    [
        (
            {"run": "restart-payments", "offer": "restart-payments"},
            "offer is for a step that pages",
        ),
        ({"targets": {"responders": ["alice"]}, "offer": ""}, "at least 1 character"),
    ],
)
def test_an_offer_belongs_to_a_paging_step(step: dict[str, object], refused: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Step.model_validate(step)
    assert refused in str(caught.value)
