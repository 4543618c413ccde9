"""Reading request bodies within a size limit, and parsing them with errors that name the field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from app.errors import KlaxonError, PayloadTooLarge

ModelT = TypeVar("ModelT", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise KlaxonError("request body is empty; expected a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KlaxonError(f"malformed JSON: {exc}") from exc


def validate(model: type[ModelT], data: Any) -> ModelT:
    """Validate like FastAPI does for declared bodies: a 422 whose ``detail``
    lists each bad field's location, starting with ``body``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"type": err["type"], "loc": ("body", *err["loc"]), "msg": err["msg"]}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from exc
