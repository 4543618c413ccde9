"""GSM-7, the alphabet an SMS is cheapest in, and fitting a text to a budget.

A text that contains a single character outside GSM-7 is sent as UCS-2, which
fits 70 characters per segment instead of 160: a curly apostrophe in an alert
summary would more than double the cost of every page. So every text Klaxon
sends is converted with :func:`to_gsm7` (look-alikes replaced, invisibles and
emoji dropped) and then shortened (:func:`ellipsize`, :func:`longest_fitting`)
until :func:`gsm7_segments` says it fits. The words themselves are in
app/notify/texts.py and app/notify/update_texts.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Final
from urllib.parse import quote

# GSM 03.38 default alphabet (ESC excluded: it only introduces an extension char).
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Sent as ESC + char, so each costs two septets.
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

_SINGLE_GSM7: Final = 160
_MULTI_GSM7: Final = 153  # the rest of each 140-octet segment holds the concatenation header
_SINGLE_UCS2: Final = 70
_MULTI_UCS2: Final = 67

_QUOTES: Final = (
    "\N{LEFT SINGLE QUOTATION MARK}",
    "\N{RIGHT SINGLE QUOTATION MARK}",
    "\N{SINGLE LOW-9 QUOTATION MARK}",
    "\N{SINGLE HIGH-REVERSED-9 QUOTATION MARK}",
    "\N{PRIME}",
    "\N{GRAVE ACCENT}",
    "\N{ACUTE ACCENT}",
)
_DOUBLE_QUOTES: Final = (
    "\N{LEFT DOUBLE QUOTATION MARK}",
    "\N{RIGHT DOUBLE QUOTATION MARK}",
    "\N{DOUBLE LOW-9 QUOTATION MARK}",
    "\N{DOUBLE HIGH-REVERSED-9 QUOTATION MARK}",
    "\N{DOUBLE PRIME}",
    "\N{LEFT-POINTING DOUBLE ANGLE QUOTATION MARK}",
    "\N{RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK}",
)
_DASHES: Final = (
    "\N{HYPHEN}",
    "\N{NON-BREAKING HYPHEN}",
    "\N{FIGURE DASH}",
    "\N{EN DASH}",
    "\N{EM DASH}",
    "\N{HORIZONTAL BAR}",
    "\N{MINUS SIGN}",
)
_SPACES: Final = (
    "\t\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_REPLACEMENTS: Final[dict[str, str]] = {
    **dict.fromkeys(_QUOTES, "'"),
    **dict.fromkeys(_DOUBLE_QUOTES, '"'),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_SPACES, " "),
    **dict.fromkeys("\u2028\u2029", "\n"),  # line and paragraph separators
    "\N{HORIZONTAL ELLIPSIS}": "...",
    "\N{BULLET}": "-",
    "\N{MIDDLE DOT}": "-",
    "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}": "<",
    "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}": ">",
    "\N{MULTIPLICATION SIGN}": "x",
    "\N{DIVISION SIGN}": "/",
    "\N{FRACTION SLASH}": "/",
    "\N{LESS-THAN OR EQUAL TO}": "<=",
    "\N{GREATER-THAN OR EQUAL TO}": ">=",
    "\N{NOT EQUAL TO}": "!=",
    "\N{RIGHTWARDS ARROW}": "->",
    "\N{LEFTWARDS ARROW}": "<-",
    "\N{COPYRIGHT SIGN}": "(c)",
    "\N{REGISTERED SIGN}": "(R)",
    "\N{DEGREE SIGN}": "",  # 90°C -> 90C
    # Letters without a decomposition to fold their accent away.
    "\N{LATIN SMALL LETTER L WITH STROKE}": "l",
    "\N{LATIN CAPITAL LETTER L WITH STROKE}": "L",
    "\N{LATIN SMALL LETTER D WITH STROKE}": "d",
    "\N{LATIN CAPITAL LETTER D WITH STROKE}": "D",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{LATIN SMALL LIGATURE OE}": "oe",
    "\N{LATIN CAPITAL LIGATURE OE}": "OE",
}
# Invisible: combining marks, format characters (soft hyphen, ZWJ, BOM, ...), control
# codes.  And pictographs (emoji, skin tones, °): they decorate, while a '?' in their
# place would read as a question.
_DROPPED_CATEGORIES: Final = frozenset({"Mn", "Me", "Cf", "Cc", "So", "Sk"})


# Every printable ASCII char is GSM-7 except the backtick; the rest is percent-encoded
# so a runbook link stays a working URL instead of gaining '?'s.
_URL_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "`")


def is_gsm7(text: str) -> bool:
    return all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text)


def gsm7_segments(text: str) -> int:
    """How many SMS segments ``text`` is billed as (0 for the empty string).

    An escape pair (GSM-7) or surrogate pair (UCS-2) is never split across two
    segments, so a long text may need one more segment than plain division says.
    """
    if is_gsm7(text):
        units = [2 if c in _GSM7_EXTENSION else 1 for c in text]
        single, multi = _SINGLE_GSM7, _MULTI_GSM7
    else:
        units = [2 if ord(c) > 0xFFFF else 1 for c in text]
        single, multi = _SINGLE_UCS2, _MULTI_UCS2
    total = sum(units)
    if total <= single:
        return 1 if total else 0
    segments, used = 1, 0
    for unit in units:
        if used + unit > multi:
            segments += 1
            used = 0
        used += unit
    return segments


def to_gsm7(text: str) -> str:
    """``text`` in GSM-7: look-alikes replaced, invisibles and emoji dropped, the rest '?'."""
    out: list[str] = []
    for ch in text:
        if (plain := _plain(ch)) is not None:
            out.append(plain)
        elif (folded := _fold(ch)) is not None:
            out.append(folded)
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            out.append("?")
    return "".join(out)


def _plain(ch: str) -> str | None:
    """``ch`` if it is GSM-7, its look-alike if it has one, else None."""
    if ch in _GSM7_BASIC or ch in _GSM7_EXTENSION:
        return ch
    return _REPLACEMENTS.get(ch)


def _fold(ch: str) -> str | None:
    """``ch`` without accents or compatibility forms (á → a, ﬁ → fi), if that is all GSM-7."""
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed == ch:
        return None
    parts: list[str] = []
    for d in decomposed:
        if (plain := _plain(d)) is not None:
            parts.append(plain)
        elif unicodedata.category(d) != "Mn":
            return None
    return "".join(parts) or None


def clean(text: str) -> str:
    return " ".join(to_gsm7(text).split())


def gsm7_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    return quote(url.strip(), safe=_URL_SAFE)


def ellipsize(text: str, chars: int) -> str:
    """``text`` cut to about ``chars`` characters plus "...", at a word break when one is near."""
    if chars >= len(text):
        return text
    cut = text[:chars]
    head, space, word = cut.rpartition(" ")
    if space and head and len(word) <= 12:
        cut = head
    return cut.rstrip(" ,;:-/") + "..."


def longest_fitting(
    text: str,
    fits: Callable[[str], bool],
    min_chars: int,
    shorten: Callable[[str, int], str] = ellipsize,
) -> str | None:
    """``text`` if it fits, else the longest ``shorten(text, n)`` (n ≥ ``min_chars``)
    that fits, or None."""
    if fits(text):
        return text
    best: str | None = None
    lo, hi = min_chars, len(text) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = shorten(text, mid)
        if fits(candidate):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best
