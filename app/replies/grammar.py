"""What an on-call engineer may text back: acknowledge or resolve one incident,
take command of it, silence it in Alertmanager for a while, or ack all."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["HELP_TEXT", "Reply", "parse_reply"]

HELP_TEXT: Final = (
    "Reply 42A to ack #42, 42R to resolve it, 42IC to take command, AA to ack all;"
    " A or R alone acts on your latest page."
)

_ACK: Final = r"a|ack|acknowledge"
_RESOLVE: Final = r"r|res|resolve"
_COMMAND: Final = r"ic|command"
_RUN: Final = r"x|run"  # run the action the page offered (app/automation/approval.py)
# Incident numbers start at 1; nine digits keep them inside a 32-bit integer.
_NUMBER: Final = r"#?(?P<number>[1-9][0-9]{0,8})"
_VERB: Final = rf"(?P<verb>{_ACK}|{_RESOLVE}|{_COMMAND}|{_RUN})"
_FORMS: Final = (
    re.compile(rf"{_NUMBER} ?{_VERB}"),  # 42A, 42 ack, #42 resolve, 42IC
    re.compile(rf"{_VERB} ?{_NUMBER}"),  # ack 42, r #42
    re.compile(_VERB),  # bare: the latest page sent to this phone
)
_ACK_ALL: Final = re.compile(rf"aa|(?:{_ACK}) ?all")
# 42S2h: silence incident 42 in Alertmanager for 2 hours (m, h or d).
_SILENCE: Final = re.compile(
    rf"{_NUMBER} ?(?:s|silence) ?(?P<length>[0-9]{{1,5}}) ?(?P<unit>[mhd])"
)
_UNIT_SECONDS: Final = {"m": 60, "h": 3600, "d": 86400}
_ACK_WORDS: Final = frozenset(_ACK.split("|"))
_COMMAND_WORDS: Final = frozenset(_COMMAND.split("|"))
_RUN_WORDS: Final = frozenset(_RUN.split("|"))
# Phones add sentence punctuation and quotes; '#' is kept, it may precede the number.
_EDGE: Final = string.whitespace + "\u00a0.!?,;:'\"\u2018\u2019\u201c\u201d"  # curly quotes too


@dataclass(frozen=True)
class Reply:
    action: Literal["ack", "resolve", "command", "ack_all", "run", "silence"]
    number: int | None  # None: the latest page sent to the replying phone
    seconds: int | None = None  # silence: for how long (bounds checked by the action)


def parse_reply(body: str) -> Reply | None:
    """The command in an SMS reply, or None when it is not understood."""
    text = " ".join(body.strip(_EDGE).casefold().split())
    if _ACK_ALL.fullmatch(text):
        return Reply("ack_all", None)
    silence = _SILENCE.fullmatch(text)
    if silence is not None:
        seconds = int(silence["length"]) * _UNIT_SECONDS[silence["unit"]]
        return Reply("silence", int(silence["number"]), seconds)
    for form in _FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        verb = match["verb"]
        if verb in _RUN_WORDS:
            number = match.groupdict().get("number")
            return Reply("run", int(number) if number is not None else None)
        action: Literal["ack", "resolve", "command"] = (
            "ack" if verb in _ACK_WORDS else "command" if verb in _COMMAND_WORDS else "resolve"
        )
        number = match.groupdict().get("number")
        return Reply(action, int(number) if number is not None else None)
    return None
