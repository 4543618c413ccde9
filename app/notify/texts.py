"""The words Klaxon sends by SMS, kept in GSM-7 and within a segment budget.

A text that contains a single character outside GSM-7 is sent as UCS-2, which
fits 70 characters per segment instead of 160: a curly apostrophe in an alert
summary would more than double the cost of every page.  So every text is
converted with :func:`to_gsm7` and then shortened until it fits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

__all__ = [
    "PageInfo",
    "bundle_sms",
    "gsm7_segments",
    "is_gsm7",
    "notice_digest",
    "page_sms",
    "resolved_sms",
    "runbook_lines",
    "to_gsm7",
    "with_more",
]

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

_MAX_PAGE_SEGMENTS: Final = 2
# A summary or title cut shorter than this says nothing useful.
_MIN_SUMMARY: Final = 20
_MIN_TITLE: Final = 12
_MAX_SERVICE: Final = 40
_MAX_SEVERITY: Final = 10
_MAX_RESOLVER: Final = 40
# A title cut to this length still says what died; a description may take the
# rest.  A text runbook's first lines take what the page has left once a title
# and a description of these lengths are in (longer ones are cut to make room).
_MIN_RUNBOOK: Final = 30
_FAIR_TITLE: Final = 60
_FAIR_SUMMARY: Final = 80
_MARKDOWN_HEADING: Final = re.compile(r"^#{1,6}\s+")
_MARKDOWN_EMPHASIS: Final = re.compile(r"\*\*|__|`")
# Every printable ASCII char is GSM-7 except the backtick; the rest is percent-encoded
# so a runbook link stays a working URL instead of gaining '?'s.
_URL_SAFE: Final = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "`")


@dataclass(frozen=True)
class PageInfo:
    """What a page says. ``title`` is the incident's current title; ``summary`` the
    alert's description; a runbook is a link (``runbook_url``) or a short Markdown
    text from the rules file (``runbook_text``), not both."""

    number: int
    severity: str
    title: str
    service: str
    summary: str | None
    runbook_url: str | None
    runbook_text: str | None = None
    #: An action the responder may approve by replying ``42X`` (app/automation/approval.py).
    offer: str | None = None
    # A signed console link for the one responder this text goes to (app/notify/links.py).
    link: str | None = None
    # Offer ``42S1h`` (silence in Alertmanager for an hour, app/maintenance/requested.py):
    # only for an incident whose alerts came from the Alertmanager Klaxon talks to.
    offer_silence: bool = False


def runbook_lines(text: str) -> list[str]:
    """A Markdown runbook's non-empty lines without their markup (heading marks,
    bold, code ticks), for an SMS or a voice to read.  A leading top-level heading
    is left out when more follows: it names the runbook, which the page already
    does by its title."""
    lines = [
        " ".join(_MARKDOWN_EMPHASIS.sub("", _MARKDOWN_HEADING.sub("", line)).split())
        for line in text.splitlines()
    ]
    first = text.lstrip().startswith("# ")
    kept = [line for line in lines if line]
    return kept[1:] if first and len(kept) > 1 else kept


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
        if ch in _GSM7_BASIC or ch in _GSM7_EXTENSION:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        elif (folded := _fold(ch)) is not None:
            out.append(folded)
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            out.append("?")
    return "".join(out)


def _fold(ch: str) -> str | None:
    """``ch`` without accents or compatibility forms (á → a, ﬁ → fi), if that is all GSM-7."""
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed == ch:
        return None
    parts: list[str] = []
    for d in decomposed:
        if d in _GSM7_BASIC or d in _GSM7_EXTENSION:
            parts.append(d)
        elif d in _REPLACEMENTS:
            parts.append(_REPLACEMENTS[d])
        elif unicodedata.category(d) != "Mn":
            return None
    return "".join(parts) or None


def _clean(text: str) -> str:
    return " ".join(to_gsm7(text).split())


def _gsm7_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    return quote(url.strip(), safe=_URL_SAFE)


def _ellipsize(text: str, chars: int) -> str:
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
    shorten: Callable[[str, int], str] = _ellipsize,
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


def _fits_page(text: str) -> bool:
    return gsm7_segments(text) <= _MAX_PAGE_SEGMENTS


def _page_text(
    severity: str,
    number: int,
    title: str,
    service: str,
    summary: str | None,
    runbook: str | None,
    offer: str | None = None,
    link: str | None = None,
    offer_silence: bool = False,
) -> str:
    head = " ".join(p for p in ("[Klaxon]", severity, f"#{number}", title) if p)
    if service:
        head += f" ({service})"
    if summary:
        head += f": {summary}"
    runbook_part = _full_stop(f" Runbook: {runbook}") if runbook else ""
    silence = f", {number}S1h to silence 1h" if offer_silence else ""
    reply = f" Reply {number}A to ack, {number}R to resolve{silence}."
    if offer:
        reply = f" Reply {number}X to run {offer}, {number}A to ack, {number}R to resolve{silence}."
    return f"{_full_stop(head)}{runbook_part}{reply}" + (f" {link}" if link else "")


def _full_stop(text: str) -> str:
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def page_sms(info: PageInfo) -> str:
    """The page, in GSM-7 and at most two segments: the incident's title first,
    then its service, the alert's description, the runbook and the reply codes
    (with ``42S1h`` when ``info.offer_silence``).

    Shortened in this order: the summary to 80 characters, the title to 60, the
    summary again (then dropped), the title.  A signed console link (last) is
    kept unless it leaves no room for a short title.  A runbook
    link is dropped only when it leaves no room for even a short title.  A text
    runbook's first lines (joined by " / ") get the room left beside a title and
    a description of fair length (60 and 80 characters), else beside the title
    alone, and are dropped when not even a few words fit.
    """
    severity = _ellipsize(_clean(info.severity), _MAX_SEVERITY)
    service = _ellipsize(_clean(info.service), _MAX_SERVICE)
    title = _clean(info.title)
    offer = _clean(info.offer) if info.offer else None
    summary = _clean(info.summary) if info.summary is not None else ""
    # The title is often the summary annotation itself; don't pay for it twice.
    if summary.casefold().rstrip(".") == title.casefold().rstrip("."):
        summary = ""

    # A signed link comes last, and before any runbook: it opens the runbook too.
    link = info.link
    short = _ellipsize(title, _MIN_TITLE)
    offered = _page_text(
        severity, info.number, short, service, None, None, offer, link, info.offer_silence
    )
    if link and not _fits_page(offered):
        link = None

    def render(t: str, s: str | None, rb: str | None) -> str:
        return _page_text(severity, info.number, t, service, s, rb, offer, link, info.offer_silence)

    runbook = _gsm7_url(info.runbook_url)
    if runbook and not _fits_page(render(_ellipsize(title, _MIN_TITLE), None, runbook)):
        runbook = None
    if runbook is None and info.runbook_text:
        lines = _clean(" / ".join(runbook_lines(info.runbook_text)))
        beside = _ellipsize(title, _FAIR_TITLE)

        def fits_beside(s: str | None) -> Callable[[str], bool]:
            return lambda r: _fits_page(render(beside, s, r))

        runbook = longest_fitting(
            lines, fits_beside(_ellipsize(summary, _FAIR_SUMMARY)), _MIN_RUNBOOK
        ) or longest_fitting(lines, fits_beside(None), _MIN_RUNBOOK)

    if summary:
        # The whole title while the summary keeps a fair length; past that, a
        # title of fair length and the summary down to its least.
        fair_title = _ellipsize(title, _FAIR_TITLE)
        tries = [(title, min(len(summary), _FAIR_SUMMARY)), (fair_title, _MIN_SUMMARY)]
        for t, least in tries:

            def fits_with(s: str, t: str = t) -> bool:
                return _fits_page(render(t, s, runbook))

            kept = longest_fitting(summary, fits_with, least)
            if kept is not None:
                return render(t, kept, runbook)
    kept_title = longest_fitting(title, lambda t: _fits_page(render(t, None, runbook)), _MIN_TITLE)
    # Only an absurd incident number leaves no room for a short title.
    return render(kept_title if kept_title is not None else "", None, runbook)


def bundle_sms(numbers: list[int]) -> str:
    """One text for several open incidents, listing as many numbers as two segments hold."""
    unique = list(dict.fromkeys(numbers))
    if not unique:
        raise ValueError("bundle_sms needs at least one incident number")
    count = len(unique)
    noun = "incident" if count == 1 else "incidents"
    tail = f" Reply AA to ack all, or {unique[0]}A to ack one."

    def render(shown: int) -> str:
        listed = " ".join(f"#{n}" for n in unique[:shown])
        more = f" and {count - shown} more" if shown < count else ""
        return f"[Klaxon] {count} {noun}: {listed}{more}.{tail}"

    # Dropping the last "and 1 more" can shorten the text, so try the full list first.
    if _fits_page(text := render(count)):
        return text
    best = f"[Klaxon] {count} {noun}.{tail}"
    for shown in range(1, count):
        if not _fits_page(text := render(shown)):
            break
        best = text
    return best


def resolved_sms(number: int, title: str, by: str) -> str:
    """Announces a resolution in one segment, shortening the title to fit."""
    who = _ellipsize(_clean(by), _MAX_RESOLVER)
    head = f"[Klaxon] #{number} resolved" + (f" by {who}" if who else "")

    def render(t: str) -> str:
        return f"{head}: {t}" if t else head

    kept = longest_fitting(_clean(title), lambda t: gsm7_segments(render(t)) <= 1, _MIN_TITLE)
    return render(kept if kept is not None else "")


def _listing(count: int, render: Callable[[int, str], str], fallback: str, *, sep: str) -> str:
    """``render(shown, rest)`` for the most items that fit a page's two segments,
    where ``rest`` says how many more are not shown; else ``fallback``."""
    for shown in range(count, 0, -1):
        rest = f"{sep}and {count - shown} more" if shown < count else ""
        if _fits_page(text := render(shown, rest)):
            return text
    return fallback


def with_more(text: str, more: list[str]) -> str:
    """A page with what rode along in its SMS: ``... (+3 more: #4 #6 #7 resolved)``.

    The list is cut to what two segments hold (then to its count); a page is never
    shortened for it, so a long page with a long tail may take a third segment.
    """
    if not more:
        return text
    count = len(more)
    return _listing(
        count,
        lambda shown, rest: f"{text} (+{count} more: {' '.join(more[:shown])}{rest})",
        f"{text} (+{count} more)",
        sep=" ",
    )


def notice_digest(labels: list[str]) -> str:
    """Several notices for one phone in one SMS: ``[Klaxon] 3 notices: #4 resolved; ...``."""
    if not labels:
        raise ValueError("notice_digest needs at least one notice")
    count = len(labels)
    head = f"[Klaxon] {count} {'notice' if count == 1 else 'notices'}"
    return _listing(
        count,
        lambda shown, rest: f"{head}: {'; '.join(labels[:shown])}{rest}.",
        f"{head}.",
        sep="; ",
    )
