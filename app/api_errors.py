"""The error answers every route can give, written into the OpenAPI document.

Routes declare what is particular to them (a 409, a webhook's 413); the answers
that follow from how a route is built are added here, in one place, so the
document cannot forget them: a bearer token (401, 403), the database (503), a
path naming a thing (404), a body or query to parse (400, 413, 422).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.routing import BaseRoute

from app.deps import BEARER_CHECKS, get_session, transaction


class ErrorDetail(BaseModel):
    detail: str


_Responses = dict[int | str, dict[str, Any]]
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
_BEARER: _Responses = {
    401: {
        "model": ErrorDetail,
        "description": "Missing, invalid or revoked bearer token",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    403: {"model": ErrorDetail, "description": "The token's scope does not allow this call"},
}
_DATABASE: _Responses = {
    503: {
        "model": ErrorDetail,
        "description": "The database is unavailable; retry after Retry-After seconds",
        "headers": _RETRY_AFTER,
    }
}
_NOT_FOUND: _Responses = {404: {"model": ErrorDetail, "description": "No such thing"}}
_MALFORMED: _Responses = {400: {"model": ErrorDetail, "description": "Malformed body or parameter"}}
_TOO_LARGE: _Responses = {
    413: {"model": ErrorDetail, "description": "A body over KLAXON_MAX_BODY_BYTES"}
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI 0.16x includes routers lazily: the routes stay in the original router.
        included = getattr(route, "original_router", None)
        if isinstance(included, APIRouter):
            yield from _api_routes(included.routes)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every route of the API, also those of included routers."""
    return _api_routes(app.router.routes)


def document_error_responses(app: FastAPI) -> None:
    """Add the error answers that follow from each route's dependencies and
    parameters, keeping any the route describes itself."""
    for route in api_routes(app):
        calls = set(_calls(route.dependant))
        added: _Responses = {}
        authenticated = bool(calls & BEARER_CHECKS)
        if authenticated:
            added.update(_BEARER)
        if authenticated or get_session in calls or transaction in calls:
            added.update(_DATABASE)
        if route.dependant.path_params:
            added.update(_NOT_FOUND)
        if route.body_field is not None or route.dependant.query_params:
            added.update(_MALFORMED)
        if route.body_field is not None:
            added.update(_TOO_LARGE)
        for status, response in added.items():
            if status not in route.responses and str(status) not in route.responses:
                route.responses[status] = response
