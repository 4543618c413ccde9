from __future__ import annotations

import logging
from pathlib import Path

from app.rules.config import RulesError, RulesFile, load_rules

log = logging.getLogger(__name__)


class RulesHolder:
    """The rules in force; a reload that fails keeps the old ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: RulesFile = load_rules(path)

    def reload(self) -> RulesFile:
        try:
            rules = load_rules(self.path)
        except RulesError as exc:
            log.error("rules reload failed, keeping the old rules:\n%s", exc)
            raise
        self.current = rules
        log.info("rules reloaded from %s", self.path)
        return rules
