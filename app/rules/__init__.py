"""Rules as code: matchers, severity classification, routing."""

from app.events import Severity
from app.rules.classify import Routing, classify, classify_events, group_key, route
from app.rules.config import SEVERITIES, RulesError, RulesFile, load_rules, parse_rules

__all__ = [
    "SEVERITIES",
    "Routing",
    "RulesError",
    "RulesFile",
    "Severity",
    "classify",
    "classify_events",
    "group_key",
    "load_rules",
    "parse_rules",
    "route",
]
