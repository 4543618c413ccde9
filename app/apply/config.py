"""The on-call document's shape: what ``klaxon apply -f`` reads from YAML and
``POST /api/v1/oncall-config`` takes as JSON.

It gathers the other packages' declarative forms (responders and schedules from
:mod:`app.oncall.schemas`, policies, heartbeats, maintenance windows) and checks
what only the whole document can: each name is listed once per kind, and a phone
belongs to one responder. A YAML file's errors name the line and the field path
(:func:`parse_config`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.escalation.policy import PolicySpec
from app.heartbeats.schemas import HeartbeatSpec
from app.maintenance.schemas import WindowSpec
from app.oncall.schemas import ResponderSpec, ScheduleSpec, unique_names
from app.yamlfile import ItemError, YamlFileError, load_yaml, parse_yaml

__all__ = ["ConfigError", "OnCallConfig", "load_config", "parse_config"]

#: The named lists other than responders, and what an error calls one item.
_NAMED: dict[str, str] = {
    "schedules": "schedule",
    "policies": "policy",
    "heartbeats": "heartbeat",
    "maintenance": "maintenance window",
}


class OnCallConfig(BaseModel):
    """Responders, schedules, escalation policies and heartbeats, as ``klaxon apply``
    takes them."""

    model_config = ConfigDict(extra="forbid")

    responders: list[ResponderSpec] = Field(default_factory=list)
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    policies: list[PolicySpec] = Field(default_factory=list)
    heartbeats: list[HeartbeatSpec] = Field(default_factory=list)
    maintenance: list[WindowSpec] = Field(default_factory=list)

    @field_validator("responders")
    @classmethod
    def _unique_responders(cls, responders: list[ResponderSpec]) -> list[ResponderSpec]:
        unique_names((r.name for r in responders), "responder")
        owners: dict[str, str] = {}
        for index, r in enumerate(responders):
            if r.phone in owners:
                raise ItemError(
                    f"phone {r.phone} belongs to both {owners[r.phone]!r} and {r.name!r}",
                    (index, "phone"),
                )
            owners[r.phone] = r.name
        return responders

    @field_validator(*_NAMED)
    @classmethod
    def _unique_items(cls, items: list[Any], info: ValidationInfo) -> list[Any]:
        unique_names((item.name for item in items), _NAMED[str(info.field_name)])
        return items


class ConfigError(YamlFileError):
    """An invalid on-call file; ``errors`` are ``"file:line: path: message"`` strings."""


def parse_config(text: str, source: str = "<on-call config>") -> OnCallConfig:
    """Parse and validate an on-call YAML document; ``ConfigError`` names each line."""
    return parse_yaml(OnCallConfig, text, source, what="on-call file", error=ConfigError)


def load_config(path: Path) -> OnCallConfig:
    return load_yaml(OnCallConfig, path, what="on-call file", error=ConfigError)
