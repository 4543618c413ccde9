"""TwiML documents for voice pages and SMS replies, built with the official ``twilio`` library."""

from __future__ import annotations

import re
from typing import Final

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from app.notify.texts import PageInfo, longest_fitting, runbook_lines

__all__ = [
    "BUNDLE_PROMPT",
    "NO_INPUT",
    "PROMPT",
    "PROMPT_WITH_RUNBOOK",
    "RUNBOOK_KEY",
    "RUN_KEY",
    "bundle_call",
    "call_result",
    "page_call",
    "redirect",
    "runbook_call",
    "sms_reply",
]

# The keys of a page call: 4 acknowledges, 6 resolves (as the peers do), star
# repeats the page, and RUNBOOK_KEY reads the rules file's text runbook, offered
# only when the incident has one.
RUNBOOK_KEY: Final = "2"
PROMPT: Final = "Press 4 to acknowledge, 6 to resolve, star to repeat."
PROMPT_WITH_RUNBOOK: Final = (
    f"Press 4 to acknowledge, 6 to resolve, {RUNBOOK_KEY} to hear the runbook, star to repeat."
)
#: Runs the action the page offered (app/automation/approval.py), offered only then.
RUN_KEY: Final = "9"
BUNDLE_PROMPT: Final = "Press 4 to acknowledge them all, 6 to resolve them all, star to repeat."
NO_INPUT: Final = "No input received. The incident is not acknowledged. Goodbye."

# Text-to-speech reads this aloud for about half a minute, already long for a page.
_MAX_SPEECH: Final = 400
# A runbook asked for is read longer: about two minutes.
_MAX_RUNBOOK_SPEECH: Final = 1800
_RUNBOOK_CUT: Final = "The rest is in the incident's runbook."
_MIN_SUMMARY: Final = 20
_MAX_SERVICE: Final = 60
_GATHER_TIMEOUT: Final = 10

# ElementTree writes these unescaped, producing XML that Twilio rejects; lone
# surrogates would not even encode.
_XML_INVALID: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# A link read aloud letter by letter helps no one.
_URL: Final = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)\S*", re.IGNORECASE)
_SPACE_BEFORE_PUNCTUATION: Final = re.compile(r"\s+([,.;:!?])")
_SEVERITY: Final = re.compile(r"sev\s*-?\s*([0-9]+)", re.IGNORECASE)
_SPOKEN: Final = str.maketrans(
    {
        "\N{LEFT SINGLE QUOTATION MARK}": "'",
        "\N{RIGHT SINGLE QUOTATION MARK}": "'",
        "\N{EN DASH}": ", ",
        "\N{EM DASH}": ", ",
        "…": ". ",
        "_": " ",
        ">": " above ",
        "<": " below ",
        "&": " and ",
        "\u00a0": " ",
    }
)
# Everything else that is not a letter or digit is read as a symbol name, or as noise.
_SPEAKABLE_PUNCTUATION: Final = frozenset(" .,;:!?'%-/+()$€£")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def _speakable(text: str) -> str:
    text = _URL.sub(" ", text.translate(_SPOKEN))
    kept = "".join(c if c.isalnum() or c in _SPEAKABLE_PUNCTUATION else " " for c in text)
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(kept.split()))


def _sentence(text: str) -> str:
    text = text.rstrip(" ,;:-/(+")
    if not text or text.endswith((".", "!", "?")):
        return text
    return text + "."


def _clip_words(text: str, chars: int) -> str:
    if chars >= len(text):
        return text
    head, space, _ = text[:chars].rpartition(" ")
    return head if space and head else text[:chars]


def _spoken_severity(severity: str) -> str:
    match = _SEVERITY.fullmatch(severity.strip())
    return match[1] if match else _speakable(severity)


def _prompt(info: PageInfo) -> str:
    prompt = PROMPT_WITH_RUNBOOK if info.runbook_text else PROMPT
    if info.offer:
        action = _speakable(info.offer.replace("-", " ").replace("_", " "))
        prompt = prompt.replace(", star to", f", {RUN_KEY} to run {action}, star to")
    return prompt


def _speech(info: PageInfo) -> str:
    severity = _spoken_severity(info.severity)
    intro = f"Klaxon page. Incident {info.number}." + (f" Severity {severity}." if severity else "")
    service = _clip_words(_speakable(info.service), _MAX_SERVICE)
    title = _speakable(info.title)
    summary = _speakable(info.summary or "")

    def render(t: str, s: str) -> str:
        what = " on ".join(p for p in (t, service) if p)
        return " ".join(p for p in (intro, _sentence(what), _sentence(s), _prompt(info)) if p)

    def fits(text: str) -> bool:
        return len(text) <= _MAX_SPEECH

    if summary:
        kept = longest_fitting(summary, lambda s: fits(render(title, s)), _MIN_SUMMARY, _clip_words)
        if kept is not None:
            return render(title, kept)
    kept_title = longest_fitting(title, lambda t: fits(render(t, "")), 0, _clip_words)
    return render(kept_title or "", "")


def _runbook_speech(info: PageInfo) -> str:
    sentences = [
        _sentence(_speakable(line.lstrip("-*+ ")))
        for line in runbook_lines(info.runbook_text or "")
    ]
    intro = f"Runbook for incident {info.number}."
    prompt = f"That was the runbook. {_prompt(info)}"
    spoken: list[str] = []
    for sentence in filter(None, sentences):
        if len(" ".join([intro, *spoken, sentence, _RUNBOOK_CUT, prompt])) > _MAX_RUNBOOK_SPEECH:
            spoken.append(_RUNBOOK_CUT)
            break
        spoken.append(sentence)
    return " ".join([intro, *spoken, prompt])


def _gathering(speech: str, gather_action: str) -> str:
    """Say ``speech`` while waiting for one key."""
    response: VoiceResponse = VoiceResponse()
    gather: Gather = response.gather(
        num_digits=1, action=gather_action, method="POST", timeout=_GATHER_TIMEOUT
    )
    gather.say(_xml_text(speech))
    # Reached only when the gather times out without a key.
    response.say(NO_INPUT)
    return str(response)


def page_call(info: PageInfo, *, gather_action: str, repeat_url: str) -> str:
    """The call that reads a page and waits for one key (4, 6, star, and
    RUNBOOK_KEY when the incident has a text runbook).

    ``repeat_url`` is not referenced here: the gather action answers a star with
    :func:`redirect` to it.  It is taken so the caller states both URLs at once.
    """
    return _gathering(_speech(info), gather_action)


def runbook_call(info: PageInfo, *, gather_action: str) -> str:
    """The answer to RUNBOOK_KEY: the text runbook read aloud (its first two
    minutes or so), then the same keys as the page."""
    return _gathering(_runbook_speech(info), gather_action)


def _bundle_speech(infos: list[PageInfo]) -> str:
    count = len(infos)
    intro = f"Klaxon page. {count} incidents."

    def line(info: PageInfo) -> str:
        severity = _spoken_severity(info.severity)
        what = " on ".join(
            p for p in (_speakable(info.title), _clip_words(_speakable(info.service), 40)) if p
        )
        head = f"Incident {info.number}" + (f", severity {severity}" if severity else "")
        return _sentence(f"{head}: {what}" if what else head)

    def render(shown: int) -> str:
        more = f"And {count - shown} more." if shown < count else ""
        lines = [line(info) for info in infos[:shown]]
        return " ".join(p for p in (intro, *lines, more, BUNDLE_PROMPT) if p)

    for shown in range(count, 0, -1):
        if len(text := render(shown)) <= 2 * _MAX_SPEECH:
            return text
    return render(0)


def bundle_call(infos: list[PageInfo], *, gather_action: str) -> str:
    """One call for several incidents waiting for one person: it names them
    (as many as half a minute or so holds) and one key acts on them all."""
    return _gathering(_bundle_speech(infos), gather_action)


def call_result(text: str) -> str:
    response: VoiceResponse = VoiceResponse()
    response.say(_xml_text(text))
    response.hangup()
    return str(response)


def redirect(url: str) -> str:
    response: VoiceResponse = VoiceResponse()
    response.redirect(url, method="POST")
    return str(response)


def sms_reply(text: str | None) -> str:
    """A reply message, or none: an empty ``<Response/>`` makes Twilio send nothing."""
    response: MessagingResponse = MessagingResponse()
    if text is not None and text.strip():
        response.message(_xml_text(text))
    return str(response)
