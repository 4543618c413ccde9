"""Untrusted text made safe to store and to show: the one place that decides
how a value that does not fit is cut, what a one-line field may hold, and how
free text is laid out under a template's fields.

* :func:`clip` cuts display text to a column, marking the cut with ``…``.
* :func:`clip_key` cuts an identity (fingerprint, service): what is kept ends
  with a hash of the whole, so two long values never become one.
* :func:`one_line` makes a title: every run of whitespace or control
  characters becomes one space, so a title cannot start a line of its own.
* :func:`continued` lays out free text under a template's field: every line
  after the first is indented, so no line of it can pass for a field
  (``Status: Resolved``) of the template around it.
* :data:`NUL` is refused in identities and labels: PostgreSQL cannot store it
  in a text column nor read it back out of a JSON one.
"""

from __future__ import annotations

import hashlib
import re

NUL = "\x00"
ELLIPSIS = "…"
_HASH_CHARS = 16
# Whitespace and the C0/C1 control characters (NUL, ESC, DEL, …), and the
# Unicode line and paragraph separators.
_BREAKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LINE_ENDS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
INDENT = "    "


def clip(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its first
    ``limit - 1`` and ``…``."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def clip_key(text: str, limit: int) -> str:
    """``text`` if it fits, else a prefix, ``…`` and a hash of the whole, in
    ``limit`` characters: distinct long values stay distinct."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return text[: limit - len(ELLIPSIS) - _HASH_CHARS] + ELLIPSIS + digest


def one_line(text: str) -> str:
    """``text`` on one line: runs of whitespace and control characters
    become one space; leading and trailing ones go."""
    return _BREAKS.sub(" ", text).strip()


def continued(text: str, indent: str = INDENT) -> str:
    """``text`` with every line after the first indented by ``indent`` (blank
    lines kept blank), so it reads as the continuation of one field."""
    lines = _LINE_ENDS.split(text.strip())
    return "\n".join([lines[0], *(f"{indent}{line}" if line.strip() else "" for line in lines[1:])])
