"""Rules as code: matchers, severity classification, routing."""

from app.rules.classify import Routing, classify, group_key, route
from app.rules.config import SEVERITIES, RulesError, RulesFile, Severity, load_rules, parse_rules

__all__ = [
    "SEVERITIES",
    "Routing",
    "RulesError",
    "RulesFile",
    "Severity",
    "classify",
    "group_key",
    "load_rules",
    "parse_rules",
    "route",
]
