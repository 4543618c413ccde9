"""The declarative form of on-call: responders and schedules.

The same models validate the JSON API bodies and the ``klaxon apply`` YAML file
(the whole document, :mod:`app.apply.config`). They convert to the pure
:mod:`app.oncall.rotation` objects with :func:`to_rotation`.

Wall-clock times (``handoff``, restriction ``start``/``end``) are ``"HH:MM"``
strings in the schedule's time zone; a layer's naive ``start`` is schedule-local
too. Overrides are instants, so they must carry a UTC offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app import durations
from app.instants import Instant, not_a_number, within_range
from app.oncall import rotation
from app.phones import normalize_phone
from app.yamlfile import ItemError

__all__ = [
    "LayerSpec",
    "OverrideSpec",
    "ResponderBody",
    "ResponderSpec",
    "RestrictionSpec",
    "ScheduleBody",
    "ScheduleSpec",
    "normalize_phone",
    "parse_shift",
    "to_rotation",
    "unique_names",
]

RESPONDER_NAME_PATTERN = r"^[A-Za-z0-9_.@-]+$"
SCHEDULE_NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"

ResponderName = Annotated[str, Field(min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN)]
ScheduleName = Annotated[str, Field(min_length=1, max_length=200, pattern=SCHEDULE_NAME_PATTERN)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES: dict[str, Day] = {
    **{day: day for day in DAYS},
    **{
        full: day
        for full, day in zip(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
            DAYS,
            strict=True,
        )
    },
}
WallTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Local wall-clock time, HH:MM (24-hour)",
        examples=["09:00"],
    ),
]

_SHIFT = durations.pattern("wdhm")
MAX_SHIFT = timedelta(days=366)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------
# Field helpers
# --------------------------------------------------------------------------------------


def _check_time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"time_zone {value!r} is not an IANA time zone (like 'Europe/Berlin' or 'UTC')"
        ) from exc
    return value


def parse_shift(value: str) -> timedelta:
    """``"12h"``, ``"1d"``, ``"2w"``, ``"30m"``, or combinations like ``"1d12h"``."""
    found = _SHIFT.match(value)
    if not value or found is None:
        raise ValueError(
            f"shift {value!r} must be a length like '30m', '12h', '1d', '1w' or '1d12h'"
        )
    weeks, days, hours, minutes = (int(g) if g else 0 for g in found.groups())
    if max(weeks, days, hours, minutes) > 100_000:
        raise ValueError(f"shift {value!r} is too long (at most {MAX_SHIFT.days} days)")
    length = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    if length <= timedelta(0):
        raise ValueError(f"shift {value!r} must be longer than zero")
    if length > MAX_SHIFT:
        raise ValueError(f"shift {value!r} is too long (at most {MAX_SHIFT.days} days)")
    return length


def _wall_time(value: str) -> time:
    return time.fromisoformat(value)


def unique_names(names: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ItemError(f"{what} {name!r} is listed twice", (index, "name"))
        seen.add(name)


# --------------------------------------------------------------------------------------
# Responders
# --------------------------------------------------------------------------------------


class _ResponderFields(_Spec):
    phone: str = Field(
        description="E.164, with + and the country code; normalized", examples=["+15551230001"]
    )
    time_zone: str = Field(default="UTC", description="IANA time zone", examples=["UTC"])
    slack_user_id: str | None = Field(
        default=None,
        pattern=r"^[UW][A-Z0-9]{2,30}$",
        description="Their Slack user id (profile → ⋮ → Copy member ID): in Slack they act"
        " as this responder",
        examples=["U024BE7LH"],
    )
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Their e-mail as the single sign-on provider says it (lower-cased):"
        " signing in to the console with it acts as this responder",
        examples=["alice@example.com"],
    )
    admin: bool | None = Field(
        default=None,
        description="May use the console's admin pages. Setting it through the API needs"
        " an admin-scope token; left out, it is left as it is",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None

    mattermost_user_id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]{26}$",
        description="Their Mattermost user id (System Console → Users, or"
        " /api/v4/users/username/{name}): in Mattermost they act as this responder",
        examples=["8fq4ajm5xpbnmp9u9hd4xqs7ch"],
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_time_zone(value)


class ResponderSpec(_ResponderFields):
    """A person who can be paged."""

    name: ResponderName


class ResponderBody(_ResponderFields):
    """A responder for ``PUT /responders/{name}``: the name comes from the path."""

    name: ResponderName | None = None

    def with_name(self, name: str) -> ResponderSpec:
        return ResponderSpec(
            name=name,
            phone=self.phone,
            time_zone=self.time_zone,
            slack_user_id=self.slack_user_id,
            email=self.email,
            admin=self.admin,
            mattermost_user_id=self.mattermost_user_id,
        )


# --------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------


class RestrictionSpec(_Spec):
    """An active window in the schedule's local time, starting on each of ``days``.
    ``end`` at or before ``start`` runs past midnight (equal: a whole day)."""

    days: list[Day] = Field(
        min_length=1, description="mon..sun, or ISO numbers 1 (Monday) .. 7 (Sunday)"
    )
    start: WallTime
    end: WallTime

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        names: set[str] = set()
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 7:
                names.add(DAYS[item - 1])
            elif isinstance(item, str) and item.strip().lower() in _DAY_NAMES:
                names.add(_DAY_NAMES[item.strip().lower()])
            else:
                raise ValueError(f"day {item!r} must be mon..sun or 1..7")
        # One canonical form: each day once, in week order.
        return [day for day in DAYS if day in names]

    def to_rotation(self) -> rotation.Restriction:
        return rotation.Restriction(
            days=frozenset(DAYS.index(day) + 1 for day in self.days),
            start=_wall_time(self.start),
            end=_wall_time(self.end),
        )


# An ISO 8601 date and time, with or without a UTC offset: not a JSON Schema
# "date-time", which requires the offset, so a naive start comes back as sent.
LocalOrAwareDateTime = Annotated[
    datetime,
    BeforeValidator(not_a_number),
    AfterValidator(within_range),
    WithJsonSchema({"type": "string", "examples": ["2026-11-01T09:00:00"]}),
]


class LayerSpec(_Spec):
    """One rotation: participants take turns, one shift each."""

    name: str = Field(min_length=1, max_length=200)
    participants: list[ResponderName] = Field(
        min_length=1, description="Responder names, in turn order (repeats allowed)"
    )
    shift: str = Field(
        description="Shift length: 30m, 12h, 1d, 1w, 2w, or combinations like 1d12h",
        examples=["1w"],
    )
    start: LocalOrAwareDateTime = Field(
        description="Rotation anchor; without a UTC offset it is schedule-local wall time"
    )
    handoff: WallTime | None = Field(
        default=None, description="Local handoff time, HH:MM; defaults to start's time"
    )
    restrictions: list[RestrictionSpec] = Field(default_factory=list)

    @field_validator("shift")
    @classmethod
    def _shift(cls, value: str) -> str:
        parse_shift(value)
        return value

    def to_rotation(self) -> rotation.Layer:
        return rotation.Layer(
            name=self.name,
            participants=tuple(self.participants),
            shift_length=parse_shift(self.shift),
            start=self.start,
            handoff=_wall_time(self.handoff) if self.handoff is not None else None,
            restrictions=tuple(r.to_rotation() for r in self.restrictions),
        )


class OverrideSpec(_Spec):
    """Someone on call instead of the layers over ``[start, end)``."""

    start: Instant
    end: Instant
    responder: ResponderName

    @model_validator(mode="after")
    def _ordered(self) -> OverrideSpec:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def to_rotation(self) -> rotation.Override:
        return rotation.Override(start=self.start, end=self.end, responder=self.responder)


class _ScheduleFields(_Spec):
    time_zone: str = Field(description="IANA time zone of the layers' wall-clock times")
    layers: list[LayerSpec] = Field(min_length=1, description="Index 0 lowest; later layers win")
    services: list[str] = Field(
        default_factory=list, description="The services this schedule covers"
    )
    overrides: list[OverrideSpec] = Field(
        default_factory=list,
        description="When given, they replace the schedule's overrides; later ones win",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _check_time_zone(value)

    @field_validator("layers")
    @classmethod
    def _unique_layers(cls, layers: list[LayerSpec]) -> list[LayerSpec]:
        unique_names((layer.name for layer in layers), "layer")
        return layers

    @model_validator(mode="after")
    def _computable(self) -> _ScheduleFields:
        _rotation(
            "schedule", self.time_zone, self.layers, [o.to_rotation() for o in self.overrides]
        )
        return self


class ScheduleSpec(_ScheduleFields):
    """Rotation layers and overrides in one time zone."""

    name: ScheduleName


class ScheduleBody(_ScheduleFields):
    """A schedule for ``PUT /schedules/{name}``: the name comes from the path."""

    name: ScheduleName | None = None

    def with_name(self, name: str) -> ScheduleSpec:
        # Unset fields stay unset, so that omitted overrides keep the stored ones.
        data = self.model_dump(exclude_unset=True, exclude={"name"})
        return ScheduleSpec.model_validate({**data, "name": name})


def _rotation(
    name: str,
    time_zone: str,
    layers: Iterable[LayerSpec],
    overrides: Iterable[rotation.Override],
) -> rotation.Schedule:
    schedule = rotation.Schedule(
        name=name,
        time_zone=time_zone,
        layers=tuple(layer.to_rotation() for layer in layers),
        overrides=tuple(overrides),
    )
    try:
        rotation.validate_schedule(schedule)
    except ValueError as exc:
        raise ValueError(f"schedule {name!r} cannot be computed: {exc}") from exc
    return schedule


def to_rotation(
    spec: ScheduleSpec | Mapping[Any, Any],
    overrides: Iterable[rotation.Override] | None = None,
) -> rotation.Schedule:
    """The pure :class:`rotation.Schedule` of a spec or of a ``schedules`` row.

    A row (any mapping with ``name``, ``time_zone`` and the ``layers`` JSON) has no
    overrides of its own: pass them. For a spec, ``overrides`` (if given) replace the
    spec's. Raises ``ValueError`` with a clear message if the schedule is unusable.
    """
    if isinstance(spec, ScheduleSpec):
        if overrides is None:
            overrides = [o.to_rotation() for o in spec.overrides]
        return _rotation(spec.name, spec.time_zone, spec.layers, overrides)
    try:
        layers = [LayerSpec.model_validate(layer) for layer in spec["layers"]]
        _check_time_zone(spec["time_zone"])
    except ValidationError as exc:
        raise ValueError(f"schedule {spec['name']!r} has an invalid stored layer: {exc}") from exc
    return _rotation(spec["name"], spec["time_zone"], layers, overrides or ())
