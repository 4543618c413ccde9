"""The SMS texts of incident response stay in GSM-7 and within two segments,
shortening the least important part first."""

from __future__ import annotations

from app.notify.texts import gsm7_segments, is_gsm7
from app.notify.update_texts import (
    HandoffLine,
    handoff_sms,
    status_update_sms,
    update_reminder_sms,
)


def _update(message: str, impact: str | None = "50% of payments failing") -> str:
    return status_update_sms(
        number=42,
        title="Payment Service Degraded",
        status="Identified",
        severity="SEV 2",
        message=message,
        impact=impact,
    )


def test_a_short_update_is_sent_whole() -> None:
    assert _update("Rolling back deploy 5678") == (
        "[Klaxon] #42 Payment Service Degraded - Identified (SEV 2): Rolling back deploy 5678. "
        "Impact: 50% of payments failing"
    )
    assert _update("Done.", impact=None) == (
        "[Klaxon] #42 Payment Service Degraded - Identified (SEV 2): Done."
    )


def test_a_long_update_drops_the_impact_before_the_message() -> None:
    message = "We rolled back deploy 5678 and are watching the error rate closely. " * 4
    text = _update(message.strip(), impact="x" * 200)
    assert gsm7_segments(text) <= 2
    assert "Impact" not in text
    assert text.startswith("[Klaxon] #42 Payment Service Degraded - Identified (SEV 2): We rolled")
    assert text.endswith("...")


def test_update_text_is_converted_to_gsm7() -> None:
    text = _update("It\N{RIGHT SINGLE QUOTATION MARK}s fixed \N{EM DASH} finally \N{ROCKET}")
    assert is_gsm7(text)
    assert "It's fixed - finally" in text


def _lines(count: int, title: str = "Checkout errors") -> list[HandoffLine]:
    return [HandoffLine(40 + i, "SEV2", title, "acknowledged") for i in range(count)]


def test_a_handoff_lists_the_open_incidents_and_changes() -> None:
    assert handoff_sms(
        schedule="checkout-rotation",
        outgoing="bob",
        services=["checkout"],
        incidents=_lines(1),
        changes=["#40: deploy 5678"],
    ) == (
        "[Klaxon] Handoff: you are now on call for checkout-rotation, taking over from bob. "
        "1 open incident on checkout: #40 SEV2 Checkout errors (acknowledged). "
        "Changes: #40: deploy 5678"
    )


def test_a_quiet_handoff_says_so() -> None:
    assert handoff_sms(
        schedule="nights", outgoing=None, services=["a", "b"], incidents=[], changes=[]
    ) == ("[Klaxon] Handoff: you are now on call for nights. No open incidents on a, b.")


def test_a_busy_handoff_shortens_titles_then_lists_fewer() -> None:
    text = handoff_sms(
        schedule="checkout-rotation",
        outgoing="bob",
        services=["checkout"],
        incidents=_lines(12, title="A very long incident title that goes on and on and on"),
        changes=["#40: " + "deploy " * 40],
    )
    assert gsm7_segments(text) <= 2
    assert "Changes" not in text
    assert "12 open incidents on checkout: #40 SEV2 " in text
    assert text.endswith(" more.")


def test_a_reminder_keeps_its_due_time_and_shortens_the_title() -> None:
    def remind(title: str) -> str:
        return update_reminder_sms(
            number=42, title=title, severity="SEV 1", due="15:30 UTC", every_minutes=30
        )

    assert remind("Payment Service Degraded") == (
        "[Klaxon] #42 Payment Service Degraded (SEV 1): a status update was due at 15:30 UTC."
        " Post one now (every 30 min)."
    )
    long = remind("Payments \u2013 " + "very " * 200 + "degraded")
    assert is_gsm7(long) and gsm7_segments(long) <= 2
    assert long.startswith("[Klaxon] #42 Payments")
    assert long.endswith(
        "(SEV 1): a status update was due at 15:30 UTC. Post one now (every 30 min)."
    )
