"""A fake Slack that speaks Slack's wire format, in-process, over real HTTP.

Two directions, as for the fake Twilio (tests/fakes/twilio_server.py):

* **Web API** (what Klaxon calls through ``slack_sdk``'s ``AsyncWebClient``,
  with ``base_url`` = :attr:`FakeSlack.api_url`): ``chat.postMessage``,
  ``chat.update``, ``conversations.create|invite|setTopic|history|list|archive``
  and ``views.open`` (GET or POST, as slack_sdk sends each). Bodies JSON or form-encoded, the
  bot token as ``Authorization: Bearer``. Answers are Slack's: always JSON with
  ``ok``; errors are ``{"ok": false, "error": "channel_not_found"}`` with status
  200, a rate limit is a 429 ``{"ok": false, "error": "ratelimited"}`` with
  ``Retry-After`` (seconds), and a channel name in use is ``name_taken``.
  Plus the ``response_url`` Slack gives with each command and click
  (:meth:`FakeSlack.response_url`), which answers ``ok`` in plain text.
* **Requests to Klaxon** (what Slack sends): slash commands, block actions and
  view submissions,
  form-encoded and signed exactly as Slack signs them
  (:func:`slack_signature`: ``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.served import ServedFake

__all__ = [
    "FakeSlack",
    "action_form",
    "command_form",
    "signed_headers",
    "slack_signature",
    "view_submission_form",
]


def slack_signature(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: bytes, retry: int = 0) -> dict[str, str]:
    """The headers Slack sends with ``body`` at ``timestamp`` (Unix seconds)."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": slack_signature(secret, timestamp, body),
    }
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


_triggers = itertools.count(1)


def command_form(
    command: str, text: str, *, user_id: str, response_url: str, channel_id: str = "C0CARDS"
) -> bytes:
    """A slash command's body, with the fields Slack sends, in its order."""
    n = next(_triggers)
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",  # the deprecated verification token
            "team_id": "T0001",
            "team_domain": "example",
            "channel_id": channel_id,
            "channel_name": "incidents",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A123456",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"13345224609.738474920.{n:08x}",
        }
    ).encode()


def action_form(action_id: str, value: str, *, user_id: str, response_url: str) -> bytes:
    """A ``block_actions`` interaction (a button pressed): ``payload=<JSON>``."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "channel_id": "C0CARDS", "is_ephemeral": False},
        "trigger_id": f"13345224609.738474920.{next(_triggers):08x}",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": "C0CARDS", "name": "incidents"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "klaxon_actions",
                "text": {"type": "plain_text", "text": action_id},
                "value": value,
                "type": "button",
                "action_ts": "1548426417.840180",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission_form(
    view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str
) -> bytes:
    """A ``view_submission`` of the modal ``view`` (as ``views.open`` answered it),
    ``values`` by block id as Slack sends the state of each input's element."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": f"13345224609.738474920.{next(_triggers):08x}",
        "view": {
            "id": view["id"],
            "team_id": "T0001",
            "type": "modal",
            "callback_id": view.get("callback_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "blocks": view["blocks"],
            "state": {"values": values},
            "hash": "156772938.1827394",
        },
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass
class FakeSlack(ServedFake):
    """Slack's Web API for one workspace whose bot token is ``token``."""

    token: str
    #: Unix seconds now, for messages' ``ts`` (Slack's are its clock's time):
    #: the test's clock, so Klaxon and the fake agree.
    clock: Callable[[], float] | None = None
    channels: set[str] = field(default_factory=lambda: {"C0CARDS"})
    #: Channel names in use (``conversations.create`` of one is ``name_taken``).
    names: set[str] = field(default_factory=lambda: {"incidents"})
    #: Every Web API call: {"method", "body"} in arrival order.
    calls: list[dict[str, Any]] = field(default_factory=list)
    #: Messages by (channel, ts); each holds its latest text and blocks.
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Members and topic of each channel made by ``conversations.create``.
    made: dict[str, str] = field(default_factory=dict)  # name → id
    members: dict[str, set[str]] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    #: Replies in each thread, by (channel, ts of the thread's first message).
    threads: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    #: Bodies posted to response URLs.
    responses: list[dict[str, Any]] = field(default_factory=list)
    #: Modals opened by ``views.open``, in order (each as Slack stores it, with its id).
    views: list[dict[str, Any]] = field(default_factory=list)
    #: Archived channel ids (``conversations.archive``).
    archived: set[str] = field(default_factory=set)
    _failures: list[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    _lose: dict[str, int] = field(default_factory=dict)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{key}", self._respond, methods=["POST"]),
            ]
        )

    @property
    def api_url(self) -> str:
        """``base_url`` for ``AsyncWebClient`` (ends with ``/``, as slack_sdk needs)."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.base_url}/response/{key}"

    def fail_next(self, count: int, *, status: int = 500, retry_after: int = 1) -> None:
        """The next ``count`` Web API calls fail: 429 ``ratelimited`` with
        ``Retry-After``, or another status with Slack's ``fatal_error``."""
        for _ in range(count):
            if status == 429:
                body = {"ok": False, "error": "ratelimited"}
                self._failures.append((429, body, {"Retry-After": str(retry_after)}))
            else:
                self._failures.append((status, {"ok": False, "error": "fatal_error"}, {}))

    def lose_next_answer(self, method: str, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` do what they ask, but their
        answer is lost: a 500 ``fatal_error`` after the fact, as when Slack's
        answer never reaches the caller."""
        self._lose[method] = self._lose.get(method, 0) + count

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [c["body"] for c in self.calls if c["method"] == method]

    def posts(self) -> list[dict[str, Any]]:
        """The ``chat.postMessage`` calls that were not replies in a thread."""
        return [c for c in self.calls_of("chat.postMessage") if "thread_ts" not in c]

    async def _body(self, request: Request) -> dict[str, Any]:
        """The arguments, from the query string (slack_sdk sends some methods'
        that way, and Slack takes them) and the JSON or form body."""
        arguments: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            parsed = json.loads(raw or b"{}")
            arguments.update(parsed if isinstance(parsed, dict) else {})
        else:
            arguments.update(parse_qsl(raw.decode(), keep_blank_values=True))
        return arguments

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await self._body(request)
        self.calls.append({"method": method, "body": body})
        if self._failures:
            status, error, headers = self._failures.pop(0)
            return JSONResponse(error, status_code=status, headers=headers)
        auth = request.headers.get("authorization", "")
        if not auth:
            return JSONResponse({"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        handler = {
            "chat.postMessage": self._post,
            "chat.update": self._update,
            "conversations.create": self._create,
            "conversations.invite": self._invite,
            "conversations.setTopic": self._set_topic,
            "conversations.history": self._history,
            "conversations.list": self._list,
            "conversations.archive": self._archive,
            "views.open": self._open_view,
        }.get(method)
        if handler is None:
            return JSONResponse({"ok": False, "error": "unknown_method"}, status_code=404)
        answer = handler(body)
        if answer.get("ok") and self._lose.get(method):
            self._lose[method] -= 1
            return JSONResponse({"ok": False, "error": "fatal_error"}, status_code=500)
        return JSONResponse(answer)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{int(self.clock()) if self.clock else 1700000000}.{next(self._ts):06d}"
        if thread := body.get("thread_ts"):  # a reply: in its thread, not the channel
            if (channel, str(thread)) not in self.messages:
                return {"ok": False, "error": "thread_not_found"}
            self.threads.setdefault((channel, str(thread)), []).append(str(body.get("text")))
            return {"ok": True, "channel": channel, "ts": ts, "message": {"thread_ts": thread}}
        message = {"text": body.get("text"), "blocks": body.get("blocks"), "ts": ts}
        if isinstance(body.get("metadata"), dict):
            message["metadata"] = body["metadata"]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[(channel, ts)].update(text=body.get("text"), blocks=body.get("blocks"))
        return {"ok": True, "channel": channel, "ts": ts, "text": body.get("text")}

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("name", ""))
        if name in self.names:
            return {"ok": False, "error": "name_taken"}
        channel_id = f"C{next(self._ts):08d}"
        if not re.fullmatch(r"[a-z0-9_-]{1,80}", name):
            return {"ok": False, "error": "invalid_name_specials"}
        self.channels.add(channel_id)
        self.names.add(name)
        self.members[channel_id] = set()
        self.made[name] = channel_id
        return {"ok": True, "channel": {"id": channel_id, "name": name}}

    def _invite(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        users = [u for u in str(body.get("users", "")).split(",") if u]
        new = [u for u in users if u not in self.members[channel]]
        if not new and users:
            return {"ok": False, "error": "already_in_channel"}
        self.members[channel].update(new)
        return {"ok": True, "channel": {"id": channel}}

    def _set_topic(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        self.topics[channel] = str(body.get("topic", ""))
        return {"ok": True, "channel": {"id": channel, "topic": {"value": self.topics[channel]}}}

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        """A channel's messages (not thread replies), newest first, after ``oldest``;
        their metadata only with ``include_all_metadata``."""
        channel = str(body.get("channel", ""))
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(body.get("oldest") or 0)
        with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        found = []
        for (where, ts), message in reversed(self.messages.items()):
            if where == channel and float(ts) > oldest:
                shown = {"type": "message", "ts": ts, "text": message["text"]}
                if with_metadata and "metadata" in message:
                    shown["metadata"] = message["metadata"]
                found.append(shown)
        return {"ok": True, "messages": found, "has_more": False}

    def _list(self, body: dict[str, Any]) -> dict[str, Any]:
        """Channels made here, ``limit`` a page, with Slack's ``next_cursor``."""
        every = [
            {"id": cid, "name": name, "is_archived": cid in self.archived}
            for name, cid in self.made.items()
            if not (cid in self.archived and str(body.get("exclude_archived")) in ("1", "true"))
        ]
        start = int(body.get("cursor") or 0)
        limit = int(body.get("limit") or 100)
        page = every[start : start + limit]
        more = str(start + limit) if start + limit < len(every) else ""
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": more}}

    def _archive(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel", ""))
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.archived:
            return {"ok": False, "error": "already_archived"}
        self.archived.add(channel)
        return {"ok": True}

    def _open_view(self, body: dict[str, Any]) -> dict[str, Any]:
        """A modal for a trigger_id of a command or click (usable once)."""
        trigger, view = str(body.get("trigger_id", "")), body.get("view")
        if not re.fullmatch(r"\d+\.\d+\.[0-9a-f]+", trigger):
            return {"ok": False, "error": "invalid_trigger_id"}
        if any(v["trigger_id"] == trigger for v in self.views):
            return {"ok": False, "error": "exchanged_trigger_id"}
        if not isinstance(view, dict) or view.get("type") != "modal":
            return {"ok": False, "error": "invalid_arguments"}
        title = view.get("title") or {}
        if len(str(title.get("text", ""))) > 24 or not view.get("blocks"):
            return {"ok": False, "error": "invalid_arguments"}  # Slack: title ≤ 24 characters
        opened = {**view, "id": f"V{next(self._ts):08d}", "trigger_id": trigger}
        self.views.append(opened)
        return {"ok": True, "view": opened}

    def channel_named(self, prefix: str) -> str:
        """The id of the channel made under a name starting with ``prefix``."""
        return next(c for name, c in self.made.items() if name.startswith(prefix))

    async def _respond(self, request: Request) -> Response:
        self.responses.append(await self._body(request))
        return PlainTextResponse("ok")

    def card_text(self) -> list[str]:
        """The current text of every message, in posting order."""
        return [str(m["text"]) for m in self.messages.values()]
