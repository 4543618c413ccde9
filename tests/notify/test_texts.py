"""The SMS texts: exact formats, GSM-7 conversion and the segment budget."""

from __future__ import annotations

import re

import pytest

from app.notify.texts import (
    PageInfo,
    bundle_sms,
    gsm7_segments,
    is_gsm7,
    page_sms,
    resolved_sms,
    runbook_lines,
    to_gsm7,
)

RUNBOOK = "https://runbooks.example.com/payments/high-error-rate"
REPLY = "Reply 42A to ack, 42R to resolve."


def info(
    *,
    number: int = 42,
    severity: str = "SEV2",
    title: str = "HighErrorRate",
    service: str = "payments",
    summary: str | None = "50% of requests failing",
    runbook_url: str | None = RUNBOOK,
    runbook_text: str | None = None,
) -> PageInfo:
    return PageInfo(number, severity, title, service, summary, runbook_url, runbook_text)


TEXT_RUNBOOK = """\
# High error rate
## Checks
- `kubectl -n payments get pods`
## Mitigation
1. Roll back the **last deploy**
"""


# --- page_sms -----------------------------------------------------------------


def test_page_has_the_exact_format() -> None:
    assert page_sms(info()) == (
        "[Klaxon] SEV2 #42 HighErrorRate (payments): 50% of requests failing. "
        f"Runbook: {RUNBOOK}. Reply 42A to ack, 42R to resolve."
    )


def test_page_without_summary_omits_the_summary_part() -> None:
    assert page_sms(info(summary=None)) == (
        f"[Klaxon] SEV2 #42 HighErrorRate (payments). Runbook: {RUNBOOK}. {REPLY}"
    )


def test_page_without_runbook_omits_the_runbook_part() -> None:
    assert page_sms(info(runbook_url=None)) == (
        f"[Klaxon] SEV2 #42 HighErrorRate (payments): 50% of requests failing. {REPLY}"
    )


def test_page_without_summary_or_runbook() -> None:
    assert page_sms(info(summary=None, runbook_url=None)) == (
        f"[Klaxon] SEV2 #42 HighErrorRate (payments). {REPLY}"
    )


def test_summary_ending_a_sentence_gets_no_second_period() -> None:
    text = page_sms(info(summary="Half of all requests fail!", runbook_url=None))
    assert text == f"[Klaxon] SEV2 #42 HighErrorRate (payments): Half of all requests fail! {REPLY}"


def test_summary_equal_to_title_is_not_repeated() -> None:
    text = page_sms(info(title="Disk almost full", summary="Disk almost full.", runbook_url=None))
    assert text == f"[Klaxon] SEV2 #42 Disk almost full (payments). {REPLY}"


def test_whitespace_and_newlines_in_title_and_summary_collapse() -> None:
    text = page_sms(
        info(
            title="  High\nError \t Rate ",
            summary="50%\n\nof   requests\r\nfailing",
            runbook_url=None,
        )
    )
    assert text == f"[Klaxon] SEV2 #42 High Error Rate (payments): 50% of requests failing. {REPLY}"


def test_1000_char_summary_and_300_char_title_fit_two_segments_with_reply_intact() -> None:
    text = page_sms(info(title="Title " * 50, summary="summary words " * 72))
    assert gsm7_segments(text) <= 2
    assert text.endswith(REPLY)
    assert "#42 " in text
    assert f"Runbook: {RUNBOOK}." in text
    assert "..." in text


def test_long_summary_is_shortened_before_the_title() -> None:
    text = page_sms(info(summary="The payment gateway keeps timing out " * 30))
    assert gsm7_segments(text) <= 2
    assert text.startswith("[Klaxon] SEV2 #42 HighErrorRate (payments): The payment gateway")
    assert f"... Runbook: {RUNBOOK}. {REPLY}" in text
    # Shortened, not dropped: most of the budget goes to it.
    assert len(text) > 280


def test_title_is_shortened_when_it_alone_is_too_long() -> None:
    text = page_sms(info(title="X" * 300, summary=None))
    assert gsm7_segments(text) <= 2
    assert re.search(r"#42 X+\.\.\. \(payments\)\. Runbook: ", text)
    assert text.endswith(f"Runbook: {RUNBOOK}. {REPLY}")


def test_runbook_url_is_kept_even_when_long() -> None:
    url = "https://runbooks.example.com/" + "a" * 180
    text = page_sms(info(runbook_url=url, summary="x " * 100))
    assert gsm7_segments(text) <= 2
    assert f"Runbook: {url}. {REPLY}" in text


def test_runbook_is_dropped_when_the_url_alone_leaves_no_room() -> None:
    url = "https://runbooks.example.com/" + "a" * 300
    text = page_sms(info(runbook_url=url))
    assert gsm7_segments(text) <= 2
    assert "Runbook" not in text
    assert text == (f"[Klaxon] SEV2 #42 HighErrorRate (payments): 50% of requests failing. {REPLY}")


def test_non_ascii_runbook_url_is_percent_encoded_not_mangled() -> None:
    text = page_sms(info(runbook_url="https://wiki.example.com/Zahlungsausfälle`x", summary=None))
    assert "Runbook: https://wiki.example.com/Zahlungsausf%C3%A4lle%60x." in text
    assert is_gsm7(text)


def test_non_gsm_characters_and_emoji_in_a_page_are_converted() -> None:
    text = page_sms(
        info(
            title="Checkout\u2019s \u201clatency\u201d \u2013 p99…",
            summary="Users can\u2019t pay 🔥",
            runbook_url=None,
        )
    )
    assert is_gsm7(text)
    assert gsm7_segments(text) == 1
    assert text == (
        f"[Klaxon] SEV2 #42 Checkout's \"latency\" - p99... (payments): Users can't pay. {REPLY}"
    )


@pytest.mark.parametrize(
    "page",
    [
        info(title="{" * 300, summary="[" * 1000, service="}" * 100),
        info(severity="VERY-SEVERE-" * 10, service="svc " * 100, runbook_url="u" * 500),
        info(title="\n" * 50, summary=" ", service=""),
        info(
            title="漢字" * 100,
            summary="\uff21\uff22\uff23" * 200,
        ),
        info(number=999_999_999, title="t" * 1000, summary="s" * 1000),
    ],
)
def test_any_page_fits_two_gsm7_segments_with_the_reply_instruction(page: PageInfo) -> None:
    text = page_sms(page)
    assert is_gsm7(text)
    assert gsm7_segments(text) <= 2
    assert text.endswith(f"Reply {page.number}A to ack, {page.number}R to resolve.")
    assert re.search(rf"\[Klaxon\] .*#{page.number}\b", text)


def test_runbook_lines_drop_markup_and_the_heading_naming_the_runbook() -> None:
    assert runbook_lines(TEXT_RUNBOOK) == [
        "Checks",
        "- kubectl -n payments get pods",
        "Mitigation",
        "1. Roll back the last deploy",
    ]
    assert runbook_lines("# Only a heading\n\n") == ["Only a heading"]
    assert runbook_lines("Check the disk.\n\n## Then\nclean /tmp") == [
        "Check the disk.",
        "Then",
        "clean /tmp",
    ]


def test_a_text_runbook_puts_its_first_lines_in_the_page() -> None:
    assert page_sms(info(runbook_url=None, runbook_text=TEXT_RUNBOOK)) == (
        "[Klaxon] SEV2 #42 HighErrorRate (payments): 50% of requests failing. "
        "Runbook: Checks / - kubectl -n payments get pods / Mitigation / "
        f"1. Roll back the last deploy. {REPLY}"
    )


def test_a_long_text_runbook_is_cut_beside_a_fair_title_and_description() -> None:
    summary = "Requests to /charge fail with 503 from the card gateway " * 4
    text = page_sms(
        info(
            title="HighErrorRate " * 8,
            summary=summary,
            runbook_url=None,
            runbook_text=TEXT_RUNBOOK * 10,
        )
    )
    assert gsm7_segments(text) == 2
    assert text.endswith(f"... {REPLY}")
    runbook = text[text.index(" Runbook: ") :]
    assert runbook.startswith(" Runbook: Checks / - kubectl -n payments get pods / Mitigation")
    # Neither the title nor the description was crowded out.
    assert text.startswith("[Klaxon] SEV2 #42 HighErrorRate HighErrorRate HighErrorRate")
    assert "(payments): Requests to /charge fail with 503" in text


def test_a_text_runbook_never_crowds_out_the_title() -> None:
    text = page_sms(info(title="T" * 400, summary=None, runbook_url=None, runbook_text="x " * 500))
    assert gsm7_segments(text) <= 2
    title = text.removeprefix("[Klaxon] SEV2 #42 ").split(" (payments)")[0]
    assert len(title) >= 60


# --- to_gsm7 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "converted"),
    [
        (
            "it\u2019s \u2018quoted\u2019",
            "it's 'quoted'",
        ),
        (
            "\u201cdouble\u201d «guillemets»",
            '"double" "guillemets"',
        ),
        ("a \u2013 b \u2014 c", "a - b - c"),
        ("wait…", "wait..."),
        ("no\u00a0break\u202fthin", "no break thin"),
        ("tab\there", "tab here"),
        ("zero\u200bwidth\u00adsoft\ufeff", "zerowidthsoft"),
        ("fire🔥", "fire"),
        ("ok 👍🏽 👨\u200d👩\u200d👧 🇩🇪 ❤\ufe0f", "ok    "),
        ("90°C ℃ ™", "90C C TM"),
        ("Kraków naïve façade", "Krakow naive facade"),
        ("ﬁle \uff12 ½", "file 2 1/2"),
        ("Łódź", "Lodz"),
        ("≥ 5 \u00d7 2 → x", ">= 5 x 2 -> x"),
        ("中文", "??"),
        ("ctrl\x00\x1b", "ctrl"),
    ],
)
def test_non_gsm_characters_are_converted(raw: str, converted: str) -> None:
    assert to_gsm7(raw) == converted


def test_gsm7_characters_are_kept_as_they_are() -> None:
    text = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ ¤¡ÄÖÑÜ§¿äöñüà {}[]~|\\^€"
    assert to_gsm7(text) == text
    assert is_gsm7(text)


def test_to_gsm7_output_is_always_gsm7() -> None:
    every_bmp_char = "".join(chr(c) for c in range(0xD800)) + "".join(
        chr(c) for c in range(0xE000, 0x10000)
    )
    assert is_gsm7(to_gsm7(every_bmp_char + "😀🇩🇪\U0001d400"))


# --- gsm7_segments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
    ],
)
def test_gsm7_counts_160_single_and_153_per_concatenated_segment(text: str, segments: int) -> None:
    assert gsm7_segments(text) == segments


def test_gsm7_extension_character_counts_double() -> None:
    assert gsm7_segments("{" * 80) == 1
    assert gsm7_segments("{" * 81) == 2
    assert gsm7_segments("a" * 159 + "€") == 2


def test_gsm7_escape_pair_is_not_split_between_segments() -> None:
    # 306 septets, but the escape pair cannot straddle the first segment boundary.
    assert gsm7_segments("a" * 152 + "{" + "a" * 152) == 3


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("ł" * 70, 1),
        ("ł" * 71, 2),
        ("a" * 69 + "ł", 1),
        ("a" * 100 + "\u2019", 2),
        ("ł" * 134, 2),
        ("ł" * 135, 3),
        ("😀" * 35, 1),  # a surrogate pair: two UCS-2 units
        ("😀" * 36, 2),
    ],
)
def test_any_non_gsm7_character_switches_to_ucs2_counting(text: str, segments: int) -> None:
    assert gsm7_segments(text) == segments


# --- bundle_sms ---------------------------------------------------------------


def test_bundle_has_the_exact_format() -> None:
    assert bundle_sms([41, 42, 43]) == (
        "[Klaxon] 3 incidents: #41 #42 #43. Reply AA to ack all, or 41A to ack one."
    )


def test_bundle_of_one_is_singular() -> None:
    assert bundle_sms([7]) == "[Klaxon] 1 incident: #7. Reply AA to ack all, or 7A to ack one."


def test_bundle_lists_each_number_once() -> None:
    assert bundle_sms([5, 6, 5]).startswith("[Klaxon] 2 incidents: #5 #6. ")


def test_bundle_of_40_incidents_fits_two_segments_and_says_how_many_more() -> None:
    numbers = list(range(1001, 1041))
    text = bundle_sms(numbers)
    assert gsm7_segments(text) <= 2
    match = re.fullmatch(
        r"\[Klaxon\] 40 incidents: ((?:#\d+ )+)and (\d+) more\. "
        r"Reply AA to ack all, or 1001A to ack one\.",
        text,
    )
    assert match is not None
    listed = [int(n) for n in match[1].replace("#", "").split()]
    assert listed == numbers[: len(listed)]
    assert int(match[2]) == 40 - len(listed)
    assert len(listed) > 20


def test_bundle_of_thousands_still_fits() -> None:
    text = bundle_sms(list(range(1, 100_000)))
    assert gsm7_segments(text) <= 2
    assert "more. Reply AA to ack all, or 1A to ack one." in text


def test_bundle_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        bundle_sms([])


# --- resolved_sms -------------------------------------------------------------


def test_resolved_has_the_exact_format() -> None:
    assert resolved_sms(42, "HighErrorRate", "alice") == (
        "[Klaxon] #42 resolved by alice: HighErrorRate"
    )


def test_resolved_shortens_a_long_title_to_one_segment() -> None:
    text = resolved_sms(42, "Very long alert title " * 20, "alice")
    assert gsm7_segments(text) == 1
    assert text.startswith("[Klaxon] #42 resolved by alice: Very long alert title")
    assert text.endswith("...")


def test_resolved_converts_non_gsm_characters() -> None:
    text = resolved_sms(42, "Checkout\u2019s p99 \u2013 slow", "Zoë 🙂")
    assert text == "[Klaxon] #42 resolved by Zoe: Checkout's p99 - slow"
    assert is_gsm7(text)


def test_resolved_with_absurd_resolver_still_fits_one_segment() -> None:
    text = resolved_sms(42, "HighErrorRate", "{" * 500)
    assert gsm7_segments(text) == 1
    assert text.startswith("[Klaxon] #42 resolved by {")
