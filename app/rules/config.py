"""The rules file: severity rules and routes, validated with errors that name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.rules.matchers import Matcher, MatcherError, parse_matchers

Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]
SEVERITIES: tuple[Severity, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")


class RulesError(ValueError):
    """An invalid rules file; ``errors`` are ``"file:line: message"`` strings."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class _ItemError(ValueError):
    """A validation error about one part of the value, ``at`` a path below it,
    so that the error names that part's line rather than the whole field's."""

    def __init__(self, message: str, at: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.at = at


def _matchers(value: Any) -> list[Matcher]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of matcher strings like 'severity=\"critical\"'")
    parsed: list[Matcher] = []
    for index, item in enumerate(value):
        try:
            parsed.extend(parse_matchers(item))
        except MatcherError as exc:
            raise _ItemError(str(exc), (index,)) from exc
    return parsed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class SeverityRule(_Strict):
    name: str | None = None
    matchers: list[Matcher]
    severity: Severity

    _parse = field_validator("matchers", mode="before")(_matchers)


class Route(_Strict):
    name: str
    matchers: list[Matcher] = Field(default_factory=list)
    service: str | None = None
    policy: str | None = None
    group_by: list[str] | None = None

    _parse = field_validator("matchers", mode="before")(_matchers)


class DefaultRoute(_Strict):
    service: str | None = None
    policy: str | None = None
    group_by: list[str] | None = None


class Runbook(_Strict):
    """What to do about an incident whose labels match: a link, or a short
    Markdown text (symptoms, checks, mitigation, verification)."""

    name: str | None = None
    matchers: list[Matcher] = Field(default_factory=list)
    url: str | None = Field(default=None, max_length=2000)
    text: str | None = Field(default=None, min_length=1, max_length=20000)

    _parse = field_validator("matchers", mode="before")(_matchers)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _url_or_text(self) -> Runbook:
        if (self.url is None) == (self.text is None):
            raise ValueError("a runbook needs exactly one of url and text")
        return self


PagingChannel = Literal["sms", "voice"]


def _default_paging() -> dict[Severity, list[PagingChannel]]:
    return {"SEV1": ["sms", "voice"], "SEV2": ["sms", "voice"], "SEV3": ["sms"], "SEV4": []}


class RulesFile(_Strict):
    severity_rules: list[SeverityRule] = Field(default_factory=list)
    routes: list[Route] = Field(default_factory=list)
    default_route: DefaultRoute = DefaultRoute()
    # First match wins; an alert's runbook_url annotation wins over all of them.
    runbooks: list[Runbook] = Field(default_factory=list)
    # Which severities page, and on which channels: a step pages on the
    # channels it names that its incident's severity allows. An empty list
    # records the incident without paging anyone.
    paging: dict[Severity, list[PagingChannel]] = Field(default_factory=_default_paging)

    @field_validator("paging")
    @classmethod
    def _every_severity(
        cls, paging: dict[Severity, list[PagingChannel]]
    ) -> dict[Severity, list[PagingChannel]]:
        return {**_default_paging(), **paging}

    def channels_for(self, severity: str) -> list[PagingChannel]:
        return list(self.paging.get(severity, []))  # type: ignore[call-overload]

    @field_validator("routes")
    @classmethod
    def _unique_route_names(cls, routes: list[Route]) -> list[Route]:
        seen: set[str] = set()
        for index, route in enumerate(routes):
            if route.name in seen:
                raise _ItemError(f"route name {route.name!r} is used twice", (index, "name"))
            seen.add(route.name)
        return routes


def _to_python(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            result[key] = _to_python(value_node, (*path, key), lines)
            # An error about a key (unknown, or a bad block value) names the key's line.
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def parse_rules(text: str, source: str = "<rules>") -> RulesFile:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError([f"{source}:{line}: invalid YAML: {problem}"]) from exc
    lines: dict[tuple[Any, ...], int] = {}
    data = {} if node is None else _to_python(node, (), lines)
    if not isinstance(data, dict):
        raise RulesError([f"{source}:{lines[()]}: the rules file must be a mapping"])
    try:
        return RulesFile.model_validate(data)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, _ItemError):
                loc = (*loc, *cause.at)
            where = ".".join(str(part) for part in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            errors.append(f"{source}:{_line_for(loc, lines)}: {where}: {message}")
        raise RulesError(errors) from exc


def load_rules(path: Path) -> RulesFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError([f"{path}: cannot read rules file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise RulesError([f"{path}:{line}: the rules file is not valid UTF-8"]) from exc
    return parse_rules(text, str(path))
