"""What the on-call routers share: path parameters, documented errors, and the
checks every ``PUT /<kind>/{name}`` makes of its body (the name, if given, is
the path's; validation errors of the built spec are the body's 422).

Making someone a console admin is checked here too, for the responder route and
for the whole document (app/apply/endpoints.py) alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.auth import Principal
from app.errors import Forbidden, KlaxonError
from app.instants import Instant
from app.oncall.schemas import RESPONDER_NAME_PATTERN, SCHEDULE_NAME_PATTERN

T = TypeVar("T")

ResponderPath = Annotated[str, Path(min_length=1, max_length=200, pattern=RESPONDER_NAME_PATTERN)]
SchedulePath = Annotated[str, Path(min_length=1, max_length=200, pattern=SCHEDULE_NAME_PATTERN)]
PolicyPath = Annotated[str, Path(min_length=1, max_length=200, pattern=SCHEDULE_NAME_PATTERN)]
AtQuery = Annotated[
    Instant | None,
    Query(description="An instant with its UTC offset (ISO 8601); default now"),
]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}
BAD_REFERENCE: dict[int | str, dict[str, Any]] = {
    400: {"description": "Unknown responder or schedule, or the name differs from the path"}
}


def same_name(body_name: str | None, path_name: str, what: str) -> None:
    if body_name is not None and body_name != path_name:
        raise KlaxonError(f"the body names {what} {body_name!r} but the path {path_name!r}")


def validated(build: Callable[..., T], *args: Any) -> T:
    """``build(*args)``, its validation errors answered as a 422 about the body."""
    try:
        return build(*args)
    except ValidationError as exc:
        errors = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from exc


def admin_needs_admin_scope(flags: list[bool | None], principal: Principal) -> None:
    """Making someone a console admin hands them the admin pages (tokens of any
    scope): only an admin-scope token may set the flag, not a config one."""
    if any(flag is not None for flag in flags) and not principal.allows("admin"):
        raise Forbidden("setting a responder's admin flag needs an admin-scope token")
