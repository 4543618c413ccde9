"""Alertmanager matcher syntax: ``name="value"``, ``!=``, ``=~`` and ``!~``.

Regular expressions are anchored at both ends, as Alertmanager anchors them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_MATCHER = re.compile(
    r"""\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*
        (?P<op>=~|!~|!=|=)\s*
        (?P<value>"(?:[^"\\]|\\.)*"|[^,"}{\s][^,"}{]*?|)\s*(?:,|$)""",
    re.VERBOSE,
)
_OPS = ("=", "!=", "=~", "!~")


class MatcherError(ValueError):
    pass


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, op: str, value: str) -> Matcher:
        if op not in _OPS:
            raise MatcherError(f"unknown operator {op!r}")
        regex = None
        if op in ("=~", "!~"):
            try:
                # Compiled alone (so "a)|(b" is rejected, not balanced by a
                # wrapper) and used with fullmatch ("$" would also match
                # before a trailing newline).
                regex = re.compile(value)
            except re.error as exc:
                raise MatcherError(f"invalid regular expression {value!r}: {exc}") from exc
        return cls(name, op, value, regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        # A missing label matches as the empty string, as in Alertmanager.
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), raw[1:-1])
    return raw.strip()


def parse_matchers(text: str) -> list[Matcher]:
    """Parse one matcher or a comma-separated list, optionally in braces."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    if not body.strip():
        raise MatcherError("empty matcher")
    matchers: list[Matcher] = []
    pos = 0
    while pos < len(body):
        found = _MATCHER.match(body, pos)
        if found is None or found.end() == pos:
            raise MatcherError(f"cannot parse matcher {text!r} at {body[pos:]!r}")
        matchers.append(
            Matcher.create(found.group("name"), found.group("op"), _unquote(found.group("value")))
        )
        pos = found.end()
    return matchers


def all_match(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
