"""Reading request bodies within a size limit, and parsing them with errors that name the field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers

from app.errors import KlaxonError, PayloadTooLarge

ModelT = TypeVar("ModelT", bound=BaseModel)


def declared_too_large(headers: Headers, limit: int) -> str | None:
    """Why a body is refused before it is read: its Content-Length is over ``limit``."""
    declared = headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        return f"request body of {declared} bytes is over the {limit}-byte limit"
    return None


def grew_too_large(limit: int) -> str:
    """Why a body is refused once what was read of it passed ``limit``."""
    return f"request body is over the {limit}-byte limit"


async def read_body(request: Request, limit: int) -> bytes:
    refused = declared_too_large(request.headers, limit)
    if refused is not None:
        raise PayloadTooLarge(refused)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(grew_too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise KlaxonError("request body is empty; expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KlaxonError(f"malformed JSON: {exc}") from exc


def validate(model: type[ModelT], data: Any, *, context: dict[str, Any] | None = None) -> ModelT:
    """Validate like FastAPI does for declared bodies: a 422 whose ``detail``
    lists each bad field's location, starting with ``body``. ``context``
    reaches the model's validators (the time of receipt, say)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = [
            {"type": err["type"], "loc": ("body", *err["loc"]), "msg": err["msg"]}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from exc
