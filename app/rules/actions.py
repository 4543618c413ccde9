"""Actions of the rules file: HTTP requests to an executor (Rundeck, AWX, a GitHub
workflow, StackStorm, a script behind a webhook) that an escalation step runs
before anyone is paged.

Everything that can be checked is checked when the rules load, naming the line:
the URL's host must be in ``automation.allowed_hosts`` (an action cannot be
pointed at an internal service nobody meant to expose to the rules file), and
every placeholder must be one Klaxon fills.

Templates are :class:`string.Template` (``$number``, ``${labels.service}``), not
Jinja2: a placeholder can only be replaced by a value, never evaluate an
expression, reach an attribute or loop, so a rules file cannot make Klaxon run
code or leak what the template was not given. Values go into the *leaves* of
the body (a YAML mapping or list sent as JSON), so an alert's text, quotes and
braces included, can never change the body's structure. Headers take no
incident fields, only ``${secret.NAME}``: the environment variable
``KLAXON_SECRET_NAME``, read when the request is sent, so a token never sits in
the rules file, the queue's table or a log line.
"""

from __future__ import annotations

import re
import string
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.durations import parse_seconds
from app.yamlfile import ItemError

#: What a body's placeholders may name (besides ``labels.X`` and ``annotations.X``).
BODY_FIELDS = frozenset(
    {
        "number",
        "title",
        "severity",
        "service",
        "status",
        "action",
        "idempotency_key",
        "alert_count",
        "alerts",  # alone in a leaf: the firing alerts as a JSON list
    }
)
SECRET_PREFIX = "KLAXON_SECRET_"
_NAME = r"[A-Za-z0-9_.-]{1,100}"


class FieldTemplate(string.Template):
    """``$number``, ``${labels.alertname}``, ``${secret.RUNDECK_TOKEN}``."""

    idpattern = r"(?a:[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)"
    flags = re.NOFLAG  # case-sensitive: label names are


def placeholders(text: str) -> list[str]:
    """The names ``text`` refers to; ValueError for a lone or malformed ``$``."""
    template = FieldTemplate(text)
    if not template.is_valid():
        raise ValueError(f"{text!r} has a '$' that is not a placeholder (write $$ for a '$')")
    return template.get_identifiers()


def _check_body_leaf(text: str) -> None:
    for name in placeholders(text):
        head, _, rest = name.partition(".")
        if rest and head in ("labels", "annotations"):
            continue
        if not rest and name in BODY_FIELDS:
            continue
        raise ValueError(
            f"unknown placeholder ${{{name}}}: use one of "
            f"{', '.join(sorted(BODY_FIELDS))}, labels.NAME, annotations.NAME"
        )


def _walk_body(value: Any, at: tuple[Any, ...]) -> None:
    if isinstance(value, str):
        try:
            _check_body_leaf(value)
        except ValueError as exc:
            raise ItemError(str(exc), at) from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ItemError("keys of a body must be strings", at)
            _walk_body(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk_body(item, (*at, index))
    elif value is not None and not isinstance(value, bool | int | float):
        raise ItemError(f"cannot send {type(value).__name__} in a JSON body", at)


def parse_length(value: Any, *, what: str) -> float:
    """Seconds from ``10``, ``2.5`` or ``1m30s``."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be seconds or a length like 30s, 5m")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        seconds = parse_seconds(value.strip())
        if seconds is not None:
            return float(seconds)
    raise ValueError(f"{what} must be seconds or a length like 30s, 5m")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AutomationSettings(_Strict):
    #: Hosts (``name`` or ``name:port``) that actions and outgoing webhooks may call.
    allowed_hosts: list[str] = Field(default_factory=list)

    @field_validator("allowed_hosts")
    @classmethod
    def _lower(cls, hosts: list[str]) -> list[str]:
        return [host.strip().lower() for host in hosts]

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return host in self.allowed_hosts or f"{host}:{parts.port}" in self.allowed_hosts


def http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry a user or password (use a header with ${secret.NAME})")
    return url


class ActionSpec(_Strict):
    name: str = Field(pattern=rf"^{_NAME}$")
    url: str = Field(max_length=2000)
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    #: A mapping or list sent as JSON, placeholders in its texts; None sends no body.
    body: Any = None
    #: One request's limit, and how long after the step the action is retried.
    timeout: float = Field(default=10.0, gt=0, le=120)
    deadline: float = Field(default=300.0, gt=0, le=86400)

    _url = field_validator("url")(http_url)

    @field_validator("timeout", "deadline", mode="before")
    @classmethod
    def _length(cls, value: Any) -> float:
        return parse_length(value, what="a length")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _secrets_only(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            lowered = name.lower()
            if lowered.startswith("webhook-") or lowered == "idempotency-key":
                raise ItemError(f"header {name} is Klaxon's own (it signs every request)", (name,))
            try:
                names = placeholders(value)
            except ValueError as exc:
                raise ItemError(str(exc), (name,)) from exc
            for used in names:
                if not re.fullmatch(r"secret\.[A-Za-z0-9_]+", used):
                    raise ItemError(
                        f"a header takes only ${{secret.NAME}} (the environment variable"
                        f" {SECRET_PREFIX}NAME), not ${{{used}}}",
                        (name,),
                    )
        return headers

    @field_validator("body")
    @classmethod
    def _body(cls, body: Any) -> Any:
        if body is not None and not isinstance(body, dict | list):
            raise ValueError("must be a mapping or a list (sent as JSON)")
        _walk_body(body, ())
        return body


#: What an outgoing webhook may subscribe to.
WEBHOOK_EVENTS = (
    "incident.opened",
    "incident.acknowledged",
    "incident.resolved",
    "incident.status_update",
    "incident.role_changed",
)


def known_events(events: list[str]) -> list[str]:
    for index, event in enumerate(events):
        if event not in WEBHOOK_EVENTS:
            raise ItemError(f"unknown event {event!r}: use {', '.join(WEBHOOK_EVENTS)}", (index,))
    return list(dict.fromkeys(events))


class WebhookSpec(_Strict):
    """An outgoing webhook: incident events POSTed to ``url``, signed."""

    url: str = Field(max_length=2000)
    events: list[str] = Field(min_length=1)

    _url = field_validator("url")(http_url)
    _events = field_validator("events")(known_events)


def check_automation(
    automation: AutomationSettings, actions: list[ActionSpec], webhooks: list[WebhookSpec]
) -> None:
    """Unique action names, and every URL on an allowed host (ItemError at its line)."""
    seen: set[str] = set()
    for index, action in enumerate(actions):
        if action.name in seen:
            raise ItemError(
                f"action name {action.name!r} is used twice", ("actions", index, "name")
            )
        seen.add(action.name)
        if not automation.allows(action.url):
            raise ItemError(_outside(action.url), ("actions", index, "url"))
    for index, hook in enumerate(webhooks):
        if not automation.allows(hook.url):
            raise ItemError(_outside(hook.url), ("webhooks", index, "url"))


def _outside(url: str) -> str:
    host = urlsplit(url).netloc
    return f"host {host!r} is not in automation.allowed_hosts"
