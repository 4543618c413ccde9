"""Phone numbers: read as E.164, and masked for whoever may not change them.

Read (:func:`normalize_phone`): ``+`` and the country code, a possible length for
that country; stored and compared in E.164 (how an inbound SMS finds its sender).

Masked (:func:`mask_phone`): one rule everywhere a number is shown masked (API
answers, the ``klaxon`` command's tables, log lines): every digit but the last 4
hidden, ``+15551230001`` → ``+*******0001``. Masking a masked number changes
nothing.
"""

from __future__ import annotations

import phonenumbers

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


def normalize_phone(value: str) -> str:
    """``value`` as E.164 (``+15551230001``), or ``ValueError`` naming it.

    The number must start with ``+`` and its country code. It must have a possible
    length for its country; whether the range is assigned is not checked, so the
    fictional 555 numbers of examples and tests pass.
    """
    text = value.strip()
    hint = "an E.164 number starts with + and the country code, like +15551230001"
    if not text.startswith("+"):
        raise ValueError(f"phone {value!r} is not an E.164 number: {hint}")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {value!r} is not a phone number: {hint}") from exc
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise ValueError(
            f"phone {value!r} is not a valid number for country code +{number.country_code}"
            " (wrong length)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
