"""The escalation policies a rules file names, checked against those that exist.

A route naming a policy that does not exist (a typo: ``ledgr-oncall``) would
page through ``default`` instead, or nobody; ``klaxon check-config``, a reload
and the start of the service look here first. Policies live in the database
(or in an on-call file about to be applied): the caller says which exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from app.rules.config import RulesFile


def named_policies(rules: RulesFile) -> dict[str, list[str]]:
    """Each policy a route names, with where: ``{"payments-oncall": ["routes.0.policy"]}``."""
    named: dict[str, list[str]] = {}
    for index, route in enumerate(rules.routes):
        if route.policy is not None:
            named.setdefault(route.policy, []).append(f"routes.{index}.policy")
    if rules.default_route.policy is not None:
        named.setdefault(rules.default_route.policy, []).append("default_route.policy")
    return named


def _hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if not known:
        return " (no escalation policy exists yet: apply an on-call file first)"
    return f" (known: {', '.join(sorted(known))})"


def unknown_policies(rules: RulesFile, known: Collection[str]) -> list[str]:
    """One ``file:line: path: message`` error per route naming a policy not in
    ``known``, in file order."""
    problems: list[str] = []
    for index, route in enumerate(rules.routes):
        if route.policy is not None and route.policy not in known:
            problems.append(
                f"{rules.where('routes', index, 'policy')}: routes.{index}.policy:"
                f" route {route.name!r} names escalation policy {route.policy!r},"
                f" which does not exist{_hint(route.policy, known)}"
            )
    policy = rules.default_route.policy
    if policy is not None and policy not in known:
        problems.append(
            f"{rules.where('default_route', 'policy')}: default_route.policy: escalation"
            f" policy {policy!r} does not exist{_hint(policy, known)}"
        )
    return problems
