"""What the change-event API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ChangeLink(BaseModel):
    href: str
    text: str | None = None


class ChangePublic(BaseModel):
    """A change to a service: a deploy, a config change."""

    id: int
    service: str
    summary: str
    version: str | None
    who: str | None
    source: str | None = Field(description="PagerDuty's payload.source: where it happened")
    links: list[ChangeLink]
    custom_details: Any = Field(description="PagerDuty's payload.custom_details, as sent")
    at: datetime = Field(description="When it happened")
    via: str = Field(description="pagerduty or webhook")
    received_by: str = Field(description="The name of the ingest token that sent it")
    received_at: datetime


class ChangeList(BaseModel):
    items: list[ChangePublic] = Field(description="Oldest first")


class IncidentChanges(BaseModel):
    """The changes of an incident's services around it: from the window before
    its impact began up to its resolution (or now)."""

    incident: int
    services: list[str]
    since: datetime
    until: datetime
    items: list[ChangePublic] = Field(description="Oldest first")
    text: list[str] = Field(description="One line per change, for people")


class PdChangeAccepted(BaseModel):
    status: str = "success"
    message: str = "Change event processed"
    service: str = Field(description="The service the rules routed it to (Klaxon's addition)")
