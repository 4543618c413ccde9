"""The words Klaxon sends by SMS, kept in GSM-7 and within a segment budget.

A text that contains a single character outside GSM-7 is sent as UCS-2, which
fits 70 characters per segment instead of 160: a curly apostrophe in an alert
summary would more than double the cost of every page.  So every text is
converted with :func:`to_gsm7` and then shortened until it fits; the alphabet
and the fitting are app/notify/gsm7.py's, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from app.notify.gsm7 import (
    clean,
    ellipsize,
    gsm7_segments,
    gsm7_url,
    is_gsm7,
    longest_fitting,
    to_gsm7,
)

__all__ = [
    "PageInfo",
    "bundle_sms",
    "gsm7_segments",
    "is_gsm7",
    "longest_fitting",
    "notice_digest",
    "page_sms",
    "resolved_sms",
    "runbook_lines",
    "to_gsm7",
    "with_more",
]

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
    severity = ellipsize(clean(info.severity), _MAX_SEVERITY)
    service = ellipsize(clean(info.service), _MAX_SERVICE)
    title = clean(info.title)
    offer = clean(info.offer) if info.offer else None
    summary = clean(info.summary) if info.summary is not None else ""
    # The title is often the summary annotation itself; don't pay for it twice.
    if summary.casefold().rstrip(".") == title.casefold().rstrip("."):
        summary = ""

    # A signed link comes last, and before any runbook: it opens the runbook too.
    link = info.link
    short = ellipsize(title, _MIN_TITLE)
    offered = _page_text(
        severity, info.number, short, service, None, None, offer, link, info.offer_silence
    )
    if link and not _fits_page(offered):
        link = None

    def render(t: str, s: str | None, rb: str | None) -> str:
        return _page_text(severity, info.number, t, service, s, rb, offer, link, info.offer_silence)

    runbook = gsm7_url(info.runbook_url)
    if runbook and not _fits_page(render(ellipsize(title, _MIN_TITLE), None, runbook)):
        runbook = None
    if runbook is None and info.runbook_text:
        lines = clean(" / ".join(runbook_lines(info.runbook_text)))
        beside = ellipsize(title, _FAIR_TITLE)

        def fits_beside(s: str | None) -> Callable[[str], bool]:
            return lambda r: _fits_page(render(beside, s, r))

        runbook = longest_fitting(
            lines, fits_beside(ellipsize(summary, _FAIR_SUMMARY)), _MIN_RUNBOOK
        ) or longest_fitting(lines, fits_beside(None), _MIN_RUNBOOK)

    if summary:
        # The whole title while the summary keeps a fair length; past that, a
        # title of fair length and the summary down to its least.
        fair_title = ellipsize(title, _FAIR_TITLE)
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
    who = ellipsize(clean(by), _MAX_RESOLVER)
    head = f"[Klaxon] #{number} resolved" + (f" by {who}" if who else "")

    def render(t: str) -> str:
        return f"{head}: {t}" if t else head

    kept = longest_fitting(clean(title), lambda t: gsm7_segments(render(t)) <= 1, _MIN_TITLE)
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
