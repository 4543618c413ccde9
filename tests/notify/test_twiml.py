"""TwiML for voice pages and SMS replies, parsed back as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from app.notify.texts import PageInfo
from app.notify.twiml import call_result, page_call, redirect, runbook_call, sms_reply

GATHER = "https://klaxon.example.com/twilio/voice/gather?page=abc&attempt=2"
REPEAT = "https://klaxon.example.com/twilio/voice/page?page=abc"
PAGE = PageInfo(
    number=42,
    severity="SEV2",
    title="HighErrorRate",
    service="payments",
    summary="50% of requests failing",
    runbook_url="https://runbooks.example.com/high-error-rate",
)


def parse(document: str) -> ET.Element:
    root = ET.fromstring(document)
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    say = root.find("Gather/Say")
    assert say is not None and say.text is not None
    return say.text


def test_page_call_gathers_one_digit_posted_to_the_action_url() -> None:
    root = parse(page_call(PAGE, gather_action=GATHER, repeat_url=REPEAT))
    gather = root.find("Gather")
    assert gather is not None
    assert gather.attrib == {
        "numDigits": "1",
        "action": GATHER,
        "method": "POST",
        "timeout": "10",
    }


def test_page_call_reads_the_page_and_the_key_prompt() -> None:
    text = spoken(parse(page_call(PAGE, gather_action=GATHER, repeat_url=REPEAT)))
    assert text == (
        "Klaxon page. Incident 42. Severity 2. HighErrorRate on payments. "
        "50% of requests failing. Press 4 to acknowledge, 6 to resolve, star to repeat."
    )
    assert "press 4 to acknowledge" in text.lower()


def test_page_call_falls_back_to_saying_not_acknowledged() -> None:
    root = parse(page_call(PAGE, gather_action=GATHER, repeat_url=REPEAT))
    assert [child.tag for child in root] == ["Gather", "Say"]
    fallback = root.find("Say")
    assert fallback is not None and fallback.text is not None
    assert "not acknowledged" in fallback.text


def test_page_call_does_not_read_urls_or_symbols() -> None:
    page = PageInfo(
        number=7,
        severity="critical",
        title="disk_full on /var 🔥",
        service="db-1",
        summary='See https://grafana.example.com/d/abc?x=1 \u2014 it\u2019s at 99% {host="db-1"}',
        runbook_url="https://runbooks.example.com/disk",
    )
    text = spoken(parse(page_call(page, gather_action=GATHER, repeat_url=REPEAT)))
    assert "http" not in text and "grafana" not in text and "runbooks" not in text
    assert not set(text) & set('_{}="#🔥')
    assert text.startswith("Klaxon page. Incident 7. Severity critical. disk full on /var on db-1.")
    assert "it's at 99% host db-1." in text


def test_page_call_without_summary() -> None:
    page = PageInfo(42, "SEV1", "Outage", "edge", None, None)
    text = spoken(parse(page_call(page, gather_action=GATHER, repeat_url=REPEAT)))
    assert text == (
        "Klaxon page. Incident 42. Severity 1. Outage on edge. "
        "Press 4 to acknowledge, 6 to resolve, star to repeat."
    )


def test_page_call_speech_stays_under_400_chars_with_the_prompt() -> None:
    page = PageInfo(42, "SEV2", "Very long title " * 40, "payments", "words " * 300, None)
    text = spoken(parse(page_call(page, gather_action=GATHER, repeat_url=REPEAT)))
    assert len(text) <= 400
    assert text.startswith("Klaxon page. Incident 42. Severity 2. Very long title")
    assert text.endswith("Press 4 to acknowledge, 6 to resolve, star to repeat.")


def test_page_call_with_control_characters_is_still_valid_xml() -> None:
    page = PageInfo(42, "SEV2", "bad\x00title\x1b", "svc\x07", "sum\ud800mary", None)
    said = spoken(parse(page_call(page, gather_action=GATHER, repeat_url=REPEAT)))
    # Each character XML cannot carry is spoken as a pause; the words around it stay.
    assert "Incident 42. Severity 2. bad title on svc. sum mary. Press 4" in said


def test_the_runbook_key_is_announced_only_when_there_is_a_text_runbook() -> None:
    with_text = PageInfo(42, "SEV1", "Outage", "edge", None, None, "Restart the edge.")
    assert spoken(parse(page_call(with_text, gather_action=GATHER, repeat_url=REPEAT))) == (
        "Klaxon page. Incident 42. Severity 1. Outage on edge. "
        "Press 4 to acknowledge, 6 to resolve, 2 to hear the runbook, star to repeat."
    )
    without = spoken(parse(page_call(PAGE, gather_action=GATHER, repeat_url=REPEAT)))
    assert "runbook" not in without.lower()


def test_runbook_call_reads_the_lines_then_gathers_the_keys_again() -> None:
    page = PageInfo(
        42, "SEV1", "Outage", "edge", None, None, "# Edge\n## Checks\n- `curl -I https://edge/`\n"
    )
    root = parse(runbook_call(page, gather_action=GATHER))
    assert [child.tag for child in root] == ["Gather", "Say"]
    gather = root.find("Gather")
    assert gather is not None and gather.attrib["action"] == GATHER
    assert spoken(root) == (
        "Runbook for incident 42. Checks. curl -I. That was the runbook. "
        "Press 4 to acknowledge, 6 to resolve, 2 to hear the runbook, star to repeat."
    )


def test_a_long_runbook_is_read_for_about_two_minutes_and_says_where_the_rest_is() -> None:
    page = PageInfo(42, "SEV1", "Outage", "edge", None, None, "Check the edge proxy logs.\n" * 200)
    text = spoken(parse(runbook_call(page, gather_action=GATHER)))
    assert 1500 < len(text) <= 1800
    assert "The rest is in the incident's runbook. That was the runbook. Press 4" in text


def test_call_result_says_and_hangs_up() -> None:
    root = parse(call_result("Incident 42 acknowledged. Goodbye."))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root[0].text == "Incident 42 acknowledged. Goodbye."


def test_call_result_escapes_markup() -> None:
    root = parse(call_result("<b>&\x00"))
    assert root[0].text == "<b>&"


def test_redirect_posts_to_the_url() -> None:
    root = parse(redirect(REPEAT))
    assert [child.tag for child in root] == ["Redirect"]
    assert root[0].attrib == {"method": "POST"}
    assert root[0].text == REPEAT


def test_sms_reply_with_text_is_a_message() -> None:
    root = parse(sms_reply("Incident #42 acknowledged."))
    assert [child.tag for child in root] == ["Message"]
    assert root[0].text == "Incident #42 acknowledged."


def test_sms_reply_none_is_a_response_with_no_message() -> None:
    root = parse(sms_reply(None))
    assert len(root) == 0
    assert root.find("Message") is None


def test_sms_reply_blank_text_sends_nothing() -> None:
    assert len(parse(sms_reply("  "))) == 0
