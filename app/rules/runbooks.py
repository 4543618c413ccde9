"""The runbook registry of the rules file: the first runbook whose matchers
all match an incident's labels."""

from __future__ import annotations

from collections.abc import Mapping

from app.rules.config import RulesFile, Runbook
from app.rules.matchers import all_match


def find_runbook(rules: RulesFile, labels: Mapping[str, str]) -> Runbook | None:
    for runbook in rules.runbooks:
        if all_match(runbook.matchers, labels):
            return runbook
    return None


def incident_labels(labels: Mapping[str, object], service: str) -> dict[str, str]:
    """What runbook matchers see of an incident: its labels (those of the alert
    that opened it, or of its report), with ``service`` defaulting to the
    incident's service."""
    seen = {str(name): str(value) for name, value in labels.items()}
    seen.setdefault("service", service)
    return seen
