"""What a source's labels and identities may hold: any text but NUL.

PostgreSQL can store a NUL (``\\u0000``) in no text column, and one inside a
JSON column makes every read of that label (``labels->>'env'``, every label
filter) fail. So a NUL in a label name or value, a fingerprint or a key is a
422 naming it; every other character is kept as sent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from app.text import NUL


def _no_nul(value: str) -> str:
    if NUL in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


#: Text without NUL; the document says so, so generated examples keep to it.
NulFree = Annotated[
    str, AfterValidator(_no_nul), Field(json_schema_extra={"pattern": "^[^\\u0000]*$"})
]
Labels = dict[NulFree, NulFree]
