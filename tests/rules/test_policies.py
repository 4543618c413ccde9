"""Routes naming escalation policies that do not exist: each named with its line."""

from __future__ import annotations

from app.rules import parse_rules
from app.rules.policies import named_policies, unknown_policies

RULES = """\
routes:
  - name: ledger
    matchers: ['service="ledger"']
    policy: ledgr-oncall
  - name: payments
    matchers: ['service="payments"']
    policy: payments-oncall
  - name: web
    matchers: ['service="web"']
default_route:
  policy: fallback
"""


def test_a_mistyped_policy_is_named_with_its_line_and_the_likely_name() -> None:
    rules = parse_rules(RULES, "rules.yaml")
    assert unknown_policies(rules, {"ledger-oncall", "payments-oncall", "fallback"}) == [
        "rules.yaml:4: routes.0.policy: route 'ledger' names escalation policy"
        " 'ledgr-oncall', which does not exist (did you mean 'ledger-oncall'?)"
    ]


def test_every_unknown_policy_is_named_and_known_ones_pass() -> None:
    rules = parse_rules(RULES, "rules.yaml")
    problems = unknown_policies(rules, {"payments-oncall", "other"})
    assert [p.split(": ", 2)[:2] for p in problems] == [
        ["rules.yaml:4", "routes.0.policy"],
        ["rules.yaml:11", "default_route.policy"],
    ]
    assert problems[1].endswith(
        "escalation policy 'fallback' does not exist (known: other, payments-oncall)"
    )
    assert unknown_policies(rules, {"ledgr-oncall", "payments-oncall", "fallback"}) == []


def test_no_policy_at_all_says_to_apply_an_oncall_file_first() -> None:
    problems = unknown_policies(parse_rules(RULES, "rules.yaml"), set())
    assert len(problems) == 3
    assert all(
        p.endswith("(no escalation policy exists yet: apply an on-call file first)")
        for p in problems
    )


def test_named_policies_lists_where_each_is_named() -> None:
    rules = parse_rules(RULES + "", "rules.yaml")
    assert named_policies(rules) == {
        "ledgr-oncall": ["routes.0.policy"],
        "payments-oncall": ["routes.1.policy"],
        "fallback": ["default_route.policy"],
    }
