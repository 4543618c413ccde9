"""What the publishing API takes and returns (``/api/v1/incidents/{n}/public``).

Service names are the keys here, as in the rules file: the API is internal.
The public page names components by their public names and ids only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.statuspage.words import ComponentStatus, Impact, IncidentStatus, OpenStatus


# No NUL (PostgreSQL text cannot hold it) and no other control character but
# line breaks and tabs in what the public reads.
def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


PublicName = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", examples=["Slow checkout"]),
    AfterValidator(_not_blank),
]
PublicText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=5000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$",
        examples=["We are investigating slow card payments."],
    ),
    AfterValidator(_not_blank),
]
ServiceKey = Annotated[str, Field(min_length=1, max_length=200)]


class PublishIncident(BaseModel):
    """Publish an incident on the status page, with its first public update."""

    model_config = ConfigDict(extra="forbid")

    name: PublicName
    body: PublicText
    status: OpenStatus = "investigating"
    impact: Impact | None = Field(
        default=None,
        description="Default: from the SEV (SEV1 critical, SEV2 major, SEV3 minor, SEV4 none)",
    )
    components: dict[ServiceKey, ComponentStatus] = Field(
        default_factory=dict,
        description="Service (as in the rules file's status_page block) → its status",
        examples=[{"payments": "partial_outage"}],
    )


class PublicUpdateCreate(BaseModel):
    """A later public update. ``resolved`` returns the incident's components to
    operational (those another public incident holds keep its status)."""

    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus
    body: PublicText
    impact: Impact | None = None
    components: dict[ServiceKey, ComponentStatus] = Field(
        default_factory=dict, description="Components whose status changes (absent: unchanged)"
    )


class PublicUpdatePublic(BaseModel):
    id: str
    status: IncidentStatus
    body: str
    author: str
    created_at: datetime


class PublicIncidentPublic(BaseModel):
    number: int
    id: str = Field(description="The id the status page shows")
    name: str
    status: IncidentStatus
    impact: Impact
    components: dict[str, ComponentStatus]
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: list[PublicUpdatePublic] = Field(description="Newest first")
