"""A SEV1/SEV2 incident gets a channel of its own: made under a free name, the
paged responders invited, its topic the severity and status, and what happens
to the incident told there; slash commands typed there act on it."""

from __future__ import annotations

from tests.chat.conftest import Chat
from tests.paging import BOB, checkout_alert, open_incident


def _sev1() -> dict[str, object]:
    return checkout_alert(alertname="DatabaseDown", env="prod")


def _posts_in(chat: Chat, channel: str) -> list[str]:
    return [
        str(m["text"]) for m in chat.slack.calls_of("chat.postMessage") if m["channel"] == channel
    ]


async def test_a_sev1_gets_its_channel_and_it_follows_the_incident(chat_channels: Chat) -> None:
    chat = chat_channels
    chat.slack.names.add("inc-1-checkout-errors")  # someone took the first name
    number = await open_incident(chat.paging, _sev1())
    assert number == 1
    await chat.paging.tick()
    created = [c["name"] for c in chat.slack.calls_of("conversations.create")]
    assert created == ["inc-1-checkout-errors", "inc-1-checkout-errors-2"]
    channel = chat.slack.made["inc-1-checkout-errors-2"]
    await chat.paging.tick()  # the invite of whoever the first run paged
    assert chat.slack.members[channel] == {"U0ALICE"}
    assert chat.slack.topics[channel] == "SEV1 · Triggered · #1 checkout errors"

    assert (await chat.paging.sms_reply(BOB, "1A")).status_code == 200
    # A post queued before its channel existed waits the queue's backoff (5 s);
    # posts due in one run go concurrently, so their order is not asserted.
    await chat.paging.tick(seconds=10)
    assert sorted(_posts_in(chat, channel)) == [
        "Acknowledged by bob (not paged for #1) via sms",
        "Step 1: paging alice by sms",
    ]
    assert chat.slack.topics[channel] == "SEV1 · Acknowledged by bob · #1 checkout errors"

    # Typed in the incident's channel, the commands need no number.
    assert await chat.say("alice", "/incident", "", channel=channel) == (
        "*#1* SEV1 acknowledged by bob: checkout errors"
    )
    answer = await chat.say("alice", "/incident", "update identified rollback started", channel)
    assert answer.startswith("#1 status update posted (identified)")
    assert await chat.say("alice", "/incident", "resolve", channel=channel) == "#1 resolved"
    await chat.paging.tick()
    posts = _posts_in(chat, channel)
    assert posts[2:] == [
        "Status update (Identified): rollback started",
        "Status update (Resolved): Resolved by alice",
        "Resolved by alice via slack",
    ]
    assert posts[-1] == "Resolved by alice via slack"
    assert chat.slack.topics[channel] == "SEV1 · Resolved by alice · #1 checkout errors"
    assert len(chat.slack.calls_of("conversations.create")) == 2, "one channel per incident"


async def test_lower_severities_get_no_channel(chat_channels: Chat) -> None:
    chat = chat_channels
    number = await open_incident(chat.paging, checkout_alert(severity="warning"))
    await chat.paging.tick()
    detail = (await chat.paging.api.get(f"/api/v1/incidents/{number}")).json()
    assert detail["severity"] not in ("SEV1", "SEV2")
    assert chat.slack.calls_of("conversations.create") == []
    assert chat.card(number)["text"].startswith(f"{detail['severity']} #{number} ")


async def test_whoever_is_paged_later_is_invited_too(chat_channels: Chat) -> None:
    chat = chat_channels
    await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    channel = chat.slack.made["inc-1-checkout-errors"]
    assert chat.slack.members[channel] == {"U0ALICE"}
    await chat.paging.tick(minutes=5)  # nobody acknowledged: the secondary is paged
    assert chat.slack.members[channel] == {"U0ALICE", "U0BOB"}
    assert _posts_in(chat, channel) == [
        "Step 1: paging alice by sms",
        "Step 2: paging bob by sms and voice",
    ]


async def test_the_status_text_names_the_channel(chat_channels: Chat) -> None:
    chat = chat_channels
    await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    await chat.say("alice", "/incident", "update #1 identified rollback started")
    latest = await chat.paging.api.get("/api/v1/incidents/1/updates/latest?format=text")
    assert latest.text.splitlines()[-1] == "Updates: #inc-1-checkout-errors (Slack)"
    listed = (await chat.paging.api.get("/api/v1/incidents/1/updates")).json()
    assert listed[0]["text"].endswith("\nUpdates: #inc-1-checkout-errors (Slack)")


async def test_no_channel_no_channel_line(chat_channels: Chat) -> None:
    chat = chat_channels
    number = await open_incident(chat.paging, checkout_alert(severity="warning"))
    await chat.say("alice", "/incident", f"update #{number} identified rollback started")
    latest = await chat.paging.api.get(f"/api/v1/incidents/{number}/updates/latest?format=text")
    assert "Updates:" not in latest.text


async def test_the_channel_is_archived_a_setting_after_resolve(chat_channels: Chat) -> None:
    chat = chat_channels  # the default: a day (KLAXON_SLACK_ARCHIVE_AFTER_MINUTES=1440)
    await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    channel = chat.slack.made["inc-1-checkout-errors"]
    assert await chat.say("alice", "/incident", "resolve #1") == "#1 resolved"
    await chat.paging.tick(minutes=60)
    assert chat.slack.archived == set(), "not before the delay"
    await chat.paging.tick(minutes=23 * 60)
    assert chat.slack.archived == {channel}
    timeline = (await chat.paging.api.get("/api/v1/incidents/1")).json()["timeline"]
    assert any(e["message"] == "Slack channel #inc-1-checkout-errors archived" for e in timeline)


async def test_a_lost_create_answer_makes_no_second_channel(chat_channels: Chat) -> None:
    chat = chat_channels
    chat.slack.lose_next_answer("conversations.create")
    await open_incident(chat.paging, _sev1())
    await chat.paging.tick()
    assert list(chat.slack.made) == ["inc-1-checkout-errors"], "made, but Klaxon heard a 500"
    await chat.paging.tick(seconds=10)  # the retry
    assert list(chat.slack.made) == ["inc-1-checkout-errors"], "found by name, not made again"
    channel = chat.slack.made["inc-1-checkout-errors"]
    assert chat.slack.members[channel] == {"U0ALICE"}
    assert chat.slack.topics[channel] == "SEV1 · Triggered · #1 checkout errors"
    assert chat.slack.calls_of("conversations.list"), "looked up by its stored name"


async def test_a_lost_post_answer_makes_no_second_card(chat_channels: Chat) -> None:
    chat = chat_channels
    chat.slack.lose_next_answer("chat.postMessage")
    number = await open_incident(chat.paging, checkout_alert(severity="warning"))
    await chat.paging.tick()
    assert len(chat.slack.posts()) == 1
    await chat.paging.tick(seconds=10)
    assert len(chat.slack.posts()) == 1, "the retry found the card by its metadata"
    card = chat.card(number)
    assert card["metadata"] == {
        "event_type": "klaxon_incident_card",
        "event_payload": {"incident": number},
    }
    await chat.press("alice", "klaxon_ack", number)
    await chat.paging.tick()
    assert chat.card(number)["text"].endswith(": Acknowledged by alice"), "edited in place"
