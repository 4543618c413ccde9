"""A fake Mattermost that speaks its wire format, in-process, over real HTTP.

* **REST API v4** (what Klaxon calls with httpx, the bot token as
  ``Authorization: Bearer``): ``POST /api/v4/posts`` (201 and the post) and
  ``PUT /api/v4/posts/{id}/patch`` (200); ``GET
  /api/v4/channels/{id}/posts`` (a PostList: ``order`` newest first and
  ``posts`` by id, paged by ``page``/``per_page``); a reply is a post with
  ``root_id``. :meth:`FakeMattermost.lose_next_answer` makes a call do its
  work and then answer a 500, as when the answer never reaches Klaxon.
  Errors are Mattermost's AppError JSON (``{"id":
  "api.context.session_expired.app_error", "message": …, "status_code":
  401}``): a bad token 401, a channel the bot is not in 403, an unknown post
  404; a rate limit is a 429 with ``X-Ratelimit-*`` and
  ``Retry-After`` headers and the body ``limit exceeded``.
* **Channels**: ``GET /api/v4/channels/{id}`` (its ``team_id``), ``POST
  /api/v4/channels`` (201; a name in use is a 400
  ``store.sql_channel.save_channel.exists.app_error``; the bot joins what it
  makes), ``GET /api/v4/teams/{team}/channels/name/{name}``, ``POST
  /api/v4/channels/{id}/members`` (``user_id``), ``PUT
  /api/v4/channels/{id}/patch`` (``header``) and ``DELETE /api/v4/channels/{id}``
  (archived: ``delete_at`` set; twice is a 400).
* **Requests to Klaxon** (what Mattermost sends): a custom slash command's form
  with its token (:func:`command_form`), and a button press as the server
  forwards it to the button's ``integration.url`` (:meth:`FakeMattermost.press`:
  the context comes from the stored post, as Mattermost takes it).
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.served import ServedFake

__all__ = ["FakeMattermost", "command_form"]

_triggers = itertools.count(1)


def _id() -> str:
    """A Mattermost id: 26 characters of lower-case base32."""
    return "".join(secrets.choice("abcdefghijkmnopqrstuwxyz13456789") for _ in range(26))


def command_form(
    token: str, command: str, text: str, *, user_id: str, channel_id: str, response_url: str
) -> bytes:
    """A custom slash command's body, with the fields Mattermost sends."""
    return urlencode(
        {
            "channel_id": channel_id,
            "channel_name": "incidents",
            "command": command,
            "response_url": response_url,
            "team_domain": "example",
            "team_id": "4xp9fdt77pncbef59f4k1qe83o",
            "text": text,
            "token": token,
            "trigger_id": f"{next(_triggers):08x}.{_id()}",
            "user_id": user_id,
            "user_name": "someone",
        }
    ).encode()


def _error(status: int, error_id: str, message: str) -> JSONResponse:
    body = {
        "id": error_id,
        "message": message,
        "detailed_error": "",
        "request_id": _id(),
        "status_code": status,
    }
    return JSONResponse(body, status_code=status)


def _forbidden() -> JSONResponse:
    return _error(403, "api.context.permissions.app_error", "You have no permission.")


@dataclass
class FakeMattermost(ServedFake):
    """One Mattermost team whose bot's token is ``token``, the bot a member of ``channels``."""

    token: str
    channels: set[str] = field(default_factory=set)
    #: Posts by id, each as last patched.
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Every API call: {"method", "path", "body"} in arrival order.
    calls: list[dict[str, Any]] = field(default_factory=list)
    team: str = "4xp9fdt77pncbef59f4k1qe83o"
    #: Channels made through the API: name to id; then members, headers, archived.
    made: dict[str, str] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    archived: set[str] = field(default_factory=set)
    #: Dialogs opened with ``dialogs/open``: {"trigger_id", "url", "dialog"}.
    dialogs: list[dict[str, Any]] = field(default_factory=list)
    _limited: list[int] = field(default_factory=list)
    _lose: dict[str, int] = field(default_factory=dict)
    _created: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v4/posts", self._create, methods=["POST"]),
                Route("/api/v4/posts/{post_id}/patch", self._patch, methods=["PUT"]),
                Route("/api/v4/channels/{channel_id}/posts", self._history, methods=["GET"]),
                Route("/api/v4/actions/dialogs/open", self._open_dialog, methods=["POST"]),
                Route("/api/v4/channels", self._create_channel, methods=["POST"]),
                Route("/api/v4/channels/{channel_id}", self._channel, methods=["GET", "DELETE"]),
                Route("/api/v4/channels/{channel_id}/patch", self._patch_channel, methods=["PUT"]),
                Route("/api/v4/channels/{channel_id}/members", self._add_member, methods=["POST"]),
                Route("/api/v4/teams/{team_id}/channels/name/{name}", self._named, methods=["GET"]),
            ]
        )

    @property
    def url(self) -> str:
        return self.base_url

    def rate_limit_next(self, count: int, *, reset: int = 1) -> None:
        """The next ``count`` calls are refused with a 429, to retry in ``reset`` s."""
        self._limited.extend([reset] * count)

    def lose_next_answer(self, call: str, count: int = 1) -> None:
        """The next ``count`` calls ``call`` (``"POST /api/v4/posts"``) do their
        work, then answer a 500 (Mattermost's answer lost on the way)."""
        self._lose[call] = self._lose.get(call, 0) + count

    def _lost(self, call: str, answer: Response) -> Response:
        if not self._lose.get(call):
            return answer
        self._lose[call] -= 1
        return _error(500, "api.context.500.app_error", "The answer was lost.")

    async def _checked(self, request: Request) -> tuple[dict[str, Any], Response | None]:
        raw = await request.body()
        body = json.loads(raw or b"{}")
        self.calls.append({"method": request.method, "path": request.url.path, "body": body})
        if self._limited:
            reset = self._limited.pop(0)
            headers = {
                "X-Ratelimit-Limit": "10",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": str(reset),
                "Retry-After": str(reset),
            }
            return body, PlainTextResponse("limit exceeded\n", status_code=429, headers=headers)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            error = _error(
                401,
                "api.context.session_expired.app_error",
                "Invalid or expired session, please login again.",
            )
            return body, error
        return body, None

    async def _create(self, request: Request) -> Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        channel = str(body.get("channel_id", ""))
        if channel not in self.channels:
            return _forbidden()
        root = str(body.get("root_id") or "")
        if root and self.posts.get(root, {}).get("channel_id") != channel:
            return _error(400, "api.post.create_post.root_id.app_error", "Invalid RootId.")
        at = 1700000000000 + next(self._created)
        post = {
            "id": _id(),
            "channel_id": channel,
            "root_id": root,
            "message": body.get("message", ""),
            "props": body.get("props") or {},
            "create_at": at,
            "update_at": at,
        }
        self.posts[post["id"]] = post
        return self._lost("POST /api/v4/posts", JSONResponse(post, status_code=201))

    async def _history(self, request: Request) -> Response:
        _, refused = await self._checked(request)
        if refused is not None:
            return refused
        channel = request.path_params["channel_id"]
        if channel not in self.channels:
            return _forbidden()
        page = int(request.query_params.get("page", "0"))
        per_page = min(int(request.query_params.get("per_page", "60")), 200)
        newest = sorted(
            (p for p in self.posts.values() if p["channel_id"] == channel),
            key=lambda p: -int(p["create_at"]),
        )
        shown = newest[page * per_page : (page + 1) * per_page]
        return JSONResponse(
            {
                "order": [p["id"] for p in shown],
                "posts": {p["id"]: p for p in shown},
                "next_post_id": "",
                "prev_post_id": "",
                "has_next": len(newest) > (page + 1) * per_page,
            }
        )

    async def _patch(self, request: Request) -> Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        post = self.posts.get(request.path_params["post_id"])
        if post is None:
            return _error(404, "app.post.get.app_error", "Unable to get the post.")
        for key in ("message", "props"):
            if key in body:
                post[key] = body[key]
        return JSONResponse(post)

    def card_posts(self) -> list[dict[str, Any]]:
        """The bodies of the ``POST /api/v4/posts`` calls that were not
        replies, nor in a channel made through the API."""
        return [
            c["body"]
            for c in self.calls
            if (c["method"], c["path"]) == ("POST", "/api/v4/posts")
            and not c["body"].get("root_id")
            and c["body"].get("channel_id") not in self.made.values()
        ]

    def _channel_body(self, channel: str) -> dict[str, Any]:
        name = next((n for n, i in self.made.items() if i == channel), "incidents")
        return {
            "id": channel,
            "team_id": self.team,
            "type": "O",
            "name": name,
            "display_name": name,
            "header": self.headers.get(channel, ""),
            "delete_at": 1700000000000 if channel in self.archived else 0,
        }

    def _member_of(self, channel: str) -> Response | None:
        if channel in self.channels and channel not in self.archived:
            return None
        return _forbidden()

    async def _create_channel(self, request: Request) -> Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        name = str(body.get("name", ""))
        if body.get("team_id") != self.team or not name:
            return _error(400, "model.channel.is_valid.app_error", "Invalid channel.")
        if name in self.made:
            return _error(
                400,
                "store.sql_channel.save_channel.exists.app_error",
                "A channel with that name already exists on the same team.",
            )
        channel = _id()
        self.made[name] = channel
        self.channels.add(channel)
        self.members[channel] = set()
        answer = JSONResponse(self._channel_body(channel), status_code=201)
        return self._lost("POST /api/v4/channels", answer)

    async def _channel(self, request: Request) -> Response:
        _, refused = await self._checked(request)
        if refused is not None:
            return refused
        channel = request.path_params["channel_id"]
        if request.method == "GET":
            if channel not in self.channels:
                return _error(
                    404, "app.channel.get.existing.app_error", "Unable to find the channel."
                )
            return JSONResponse(self._channel_body(channel))
        if channel in self.archived:
            return _error(
                400,
                "api.channel.delete_channel.deleted.app_error",
                "The channel has been archived or deleted.",
            )
        if (denied := self._member_of(channel)) is not None:
            return denied
        self.archived.add(channel)
        return JSONResponse({"status": "OK"})

    async def _checked_member(
        self, request: Request
    ) -> tuple[dict[str, Any], str, Response | None]:
        """:meth:`_checked`, then the bot must be in the path's live channel."""
        body, refused = await self._checked(request)
        channel = request.path_params["channel_id"]
        if refused is None:
            refused = self._member_of(channel)
        return body, channel, refused

    async def _patch_channel(self, request: Request) -> Response:
        body, channel, refused = await self._checked_member(request)
        if refused is not None:
            return refused
        if "header" in body:
            self.headers[channel] = str(body["header"])
        return JSONResponse(self._channel_body(channel))

    async def _add_member(self, request: Request) -> Response:
        body, channel, refused = await self._checked_member(request)
        if refused is not None:
            return refused
        user = str(body.get("user_id", ""))
        self.members.setdefault(channel, set()).add(user)
        return JSONResponse({"channel_id": channel, "user_id": user}, status_code=201)

    async def _named(self, request: Request) -> Response:
        _, refused = await self._checked(request)
        if refused is not None:
            return refused
        channel = self.made.get(request.path_params["name"])
        if request.path_params["team_id"] != self.team or channel is None:
            return _error(
                404, "store.sql_channel.get_by_name.missing.app_error", "Channel does not exist."
            )
        return JSONResponse(self._channel_body(channel))

    def posts_in(self, channel: str) -> list[str]:
        """The messages posted in ``channel``, oldest first."""
        found = [p for p in self.posts.values() if p["channel_id"] == channel]
        return [str(p["message"]) for p in sorted(found, key=lambda p: int(p["create_at"]))]

    async def _open_dialog(self, request: Request) -> Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        dialog = body.get("dialog")
        if not body.get("trigger_id") or not body.get("url") or not isinstance(dialog, dict):
            return _error(
                400, "api.interactive_dialog.open.app_error", "Invalid or missing parameters."
            )
        if not dialog.get("title") or not dialog.get("elements"):
            return _error(400, "model.dialog.title.app_error", "Invalid dialog.")
        self.dialogs.append(body)
        return JSONResponse({"status": "OK"})

    def replies(self, root: str) -> list[str]:
        """The messages of the replies in ``root``'s thread, oldest first."""
        thread = [p for p in self.posts.values() if p["root_id"] == root]
        return [str(p["message"]) for p in sorted(thread, key=lambda p: int(p["create_at"]))]

    def card(self, number: int) -> dict[str, Any]:
        found = [
            p
            for p in self.posts.values()
            if not p["root_id"] and f"#{number} " in str(p["message"])
        ]
        assert len(found) == 1, self.posts
        return found[0]

    def buttons(self, number: int) -> list[str]:
        attachments = self.card(number)["props"].get("attachments") or [{}]
        return [a["name"] for a in attachments[0].get("actions") or []]

    def press(self, number: int, name: str, *, user_id: str) -> tuple[str, dict[str, Any]]:
        """(URL, JSON body) of the request Mattermost makes when ``user_id``
        presses the button labelled ``name`` on incident ``number``'s card."""
        post = self.card(number)
        action = next(a for a in post["props"]["attachments"][0]["actions"] if a["name"] == name)
        body = {
            "user_id": user_id,
            "user_name": "someone",
            "channel_id": post["channel_id"],
            "channel_name": "incidents",
            "team_id": "4xp9fdt77pncbef59f4k1qe83o",
            "team_domain": "example",
            "post_id": post["id"],
            "trigger_id": f"{next(_triggers):08x}.{_id()}",
            "type": "",
            "data_source": "",
            "context": action["integration"]["context"],
        }
        return str(action["integration"]["url"]), body
