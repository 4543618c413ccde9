from __future__ import annotations

import logging
from pathlib import Path

from app.rules.config import RulesError, RulesFile, load_rules

log = logging.getLogger(__name__)


class RulesHolder:
    """The rules in force; a reload that fails keeps the old ones.

    A reload reads the file (:meth:`read`), lets the caller check it against
    what only the database knows (the escalation policies), then puts it in
    force (:meth:`use`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: RulesFile = load_rules(path)

    def read(self) -> RulesFile:
        try:
            return load_rules(self.path)
        except RulesError as exc:
            log.error("rules reload failed, keeping the old rules:\n%s", exc)
            raise

    def use(self, rules: RulesFile) -> RulesFile:
        self.current = rules
        log.info("rules reloaded from %s", self.path)
        return rules

    def reload(self) -> RulesFile:
        """Read and use the file, unchecked."""
        return self.use(self.read())
