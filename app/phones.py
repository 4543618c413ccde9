"""Phone numbers in answers: masked for whoever may not change them.

One rule everywhere a number is shown masked (API answers, the ``klaxon``
command's tables, log lines): every digit but the last 4 hidden,
``+15551230001`` → ``+*******0001``. Masking a masked number changes nothing.
"""

from __future__ import annotations

VISIBLE_DIGITS = 4


def mask_phone(number: str) -> str:
    """Every digit but the last 4 hidden: ``+15551230001`` → ``+*******0001``."""
    digits = sum(c.isdigit() for c in number)
    seen = 0
    out = []
    for c in number:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - VISIBLE_DIGITS else "*")
        else:
            out.append(c)
    return "".join(out)
