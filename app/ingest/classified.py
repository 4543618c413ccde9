"""Classification and routing of a delivery's alerts, remembered (issue 13).

Alertmanager resends the same groups every ``group_interval``: the same label
sets, classified against the same rules every time. Matching them against
every severity rule and route was a tenth of a worker's CPU on the bench's
load. The answer is a function of the rules, the labels and the source's group
key only, so it is kept per label set for the rules in force; a reload of the
rules (a new ``RulesFile``) starts afresh. Bounded: past :data:`MAX_ENTRIES`
label sets the memory is dropped and refilled.
"""

from __future__ import annotations

from app.events import AlertEvent, Severity
from app.results import Classified
from app.rules import classify_events
from app.rules.config import RulesFile

MAX_ENTRIES = 50_000

_Key = tuple[tuple[tuple[str, str], ...], str]
_Answer = tuple[Severity, str, str | None, str]


class _Memory:
    def __init__(self) -> None:
        self.rules: RulesFile | None = None
        self.answers: dict[_Key, _Answer] = {}


_MEMORY = _Memory()


def classify_remembered(rules: RulesFile, events: list[AlertEvent]) -> list[Classified]:
    """What :func:`app.rules.classify_events` answers, from memory when these
    rules already classified the same labels."""
    memory = _MEMORY
    if memory.rules is not rules:
        memory.rules, memory.answers = rules, {}
    answers = memory.answers
    classified: list[Classified] = []
    for event in events:
        key = (tuple(event.labels.items()), event.source_group_key)
        known = answers.get(key)
        if known is None:
            [fresh] = classify_events(rules, [event])
            known = (fresh.severity, fresh.service, fresh.policy, fresh.group_key)
            if len(answers) >= MAX_ENTRIES:
                answers.clear()
            answers[key] = known
        severity, service, policy, group_key = known
        classified.append(Classified(event, severity, service, policy, group_key))
    return classified
