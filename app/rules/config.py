"""The rules file: severity rules and routes, validated with errors that name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from app import durations
from app.durations import parse_seconds
from app.events import Severity
from app.rules.actions import ActionSpec, AutomationSettings, WebhookSpec, check_automation
from app.rules.matchers import Matcher, MatcherError, parse_matchers
from app.rules.status_page import StatusPageConfig
from app.yamlfile import ItemError, Lines, YamlFileError, load_yaml_lines, parse_yaml_lines

SEVERITIES: tuple[Severity, ...] = ("SEV1", "SEV2", "SEV3", "SEV4")


class RulesError(YamlFileError):
    """An invalid rules file; ``errors`` are ``"file:line: message"`` strings."""


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
            raise ItemError(str(exc), (index,)) from exc
    return parsed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class SeverityRule(_Strict):
    name: str | None = None
    matchers: list[Matcher]
    severity: Severity

    _parse = field_validator("matchers", mode="before")(_matchers)


def _ack_silence_seconds(value: Any) -> Any:
    """``silence_on_ack``: seconds, or a length like ``30m``, ``1h``, ``1d``."""
    if isinstance(value, str) and not value.strip().isdigit():
        seconds = durations.parse_seconds(value.strip(), "dhm")
        if seconds is None:
            raise ValueError(f"silence_on_ack {value!r} must be a length like 30m, 1h or 1d")
        return seconds
    return value


#: How long an acknowledgement silences the incident's alerts in Alertmanager
#: (app/maintenance/ack_silences.py); extended while acknowledged and firing.
AckSilence = Annotated[
    int | None, BeforeValidator(_ack_silence_seconds), Field(ge=60, le=7 * 86400)
]


class Route(_Strict):
    name: str
    matchers: list[Matcher] = Field(default_factory=list)
    service: str | None = None
    policy: str | None = None
    group_by: list[str] | None = None
    silence_on_ack: AckSilence = None

    _parse = field_validator("matchers", mode="before")(_matchers)


class DefaultRoute(_Strict):
    service: str | None = None
    policy: str | None = None
    group_by: list[str] | None = None
    silence_on_ack: AckSilence = None


class Runbook(_Strict):
    """What to do about an incident whose labels match: a link, or a short
    Markdown text (symptoms, checks, mitigation, verification)."""

    name: str | None = None
    matchers: list[Matcher] = Field(default_factory=list)
    url: str | None = Field(default=None, max_length=2000)
    text: str | None = Field(default=None, min_length=1, max_length=20000)
    #: An action of ``actions:`` that pages for a matching incident offer (``42X``).
    action: str | None = Field(default=None, min_length=1, max_length=100)

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


def _default_cadence() -> dict[Severity, int | None]:
    return {"SEV1": 30 * 60, "SEV2": 60 * 60, "SEV3": None, "SEV4": None}


def _cadence_seconds(value: Any) -> int | None:
    """``30m``, ``1h``, ``1h30m`` (at least a minute), or ``none``/null for none."""
    if value is None or value == "none":
        return None
    seconds = parse_seconds(value, "dhm") if isinstance(value, str) else None
    if not seconds:
        raise ValueError("must be a length like 30m, 1h or 1h30m, or none")
    return seconds


UpdateCadence = Annotated[int | None, BeforeValidator(_cadence_seconds)]


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
    # The services shown on the public status page (app/rules/status_page.py).
    status_page: StatusPageConfig = Field(default_factory=StatusPageConfig)
    # How often an open incident's status update is due, per severity (seconds;
    # written 30m, 1h, none); severities left out keep their default.
    update_cadence: dict[Severity, UpdateCadence] = Field(default_factory=_default_cadence)
    # Where it was read from, so that checks after loading name a line too.
    _source: str = PrivateAttr(default="<rules>")
    _lines: Lines = PrivateAttr(default_factory=dict)

    def where(self, *path: str | int) -> str:
        """``file:line`` of ``path`` (``"routes", 0, "policy"``) in the file read."""
        return f"{self._source}:{self._lines.get(path, 1)}"

    @field_validator("paging")
    @classmethod
    def _every_severity(
        cls, paging: dict[Severity, list[PagingChannel]]
    ) -> dict[Severity, list[PagingChannel]]:
        return {**_default_paging(), **paging}

    @field_validator("update_cadence")
    @classmethod
    def _every_cadence(cls, cadence: dict[Severity, int | None]) -> dict[Severity, int | None]:
        return {**_default_cadence(), **cadence}

    def update_cadence_for(self, severity: str) -> int | None:
        """Seconds between status updates at ``severity``, or None."""
        return self.update_cadence.get(severity)  # type: ignore[call-overload, no-any-return]

    def channels_for(self, severity: str) -> list[PagingChannel]:
        return list(self.paging.get(severity, []))  # type: ignore[call-overload]

    @field_validator("routes")
    @classmethod
    def _unique_route_names(cls, routes: list[Route]) -> list[Route]:
        seen: set[str] = set()
        for index, route in enumerate(routes):
            if route.name in seen:
                raise ItemError(f"route name {route.name!r} is used twice", (index, "name"))
            seen.add(route.name)
        return routes

    # Auto-remediation (app/automation): the hosts actions and webhooks may call,
    # the actions escalation steps run, and the outgoing webhooks.
    automation: AutomationSettings = AutomationSettings()
    actions: list[ActionSpec] = Field(default_factory=list)
    webhooks: list[WebhookSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _automation_checked(self) -> RulesFile:
        check_automation(self.automation, self.actions, self.webhooks)
        for index, runbook in enumerate(self.runbooks):
            if runbook.action is not None and self.action(runbook.action) is None:
                raise ItemError(
                    f"runbook action {runbook.action!r} is not in actions",
                    ("runbooks", index, "action"),
                )
        return self

    def action(self, name: str) -> ActionSpec | None:
        return next((action for action in self.actions if action.name == name), None)


def _located(rules: RulesFile, source: str, lines: Lines) -> RulesFile:
    rules._source, rules._lines = source, lines
    return rules


def parse_rules(text: str, source: str = "<rules>") -> RulesFile:
    rules, lines = parse_yaml_lines(RulesFile, text, source, what="rules file", error=RulesError)
    return _located(rules, source, lines)


def load_rules(path: Path) -> RulesFile:
    rules, lines = load_yaml_lines(RulesFile, path, what="rules file", error=RulesError)
    return _located(rules, str(path), lines)
