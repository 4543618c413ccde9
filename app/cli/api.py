"""The CLI's client of a running Klaxon's JSON API (httpx, synchronous).

Where to and as whom: ``--url`` (else ``KLAXON_URL``, else
``http://KLAXON_HOST:KLAXON_PORT``) and ``--token`` (else ``KLAXON_TOKEN``, else
``KLAXON_ADMIN_TOKEN``, else the token ``klaxon serve --dev`` keeps in
``admin-token`` of the Klaxon home: ``KLAXON_HOME``, else the checkout's ``.klaxon/``).
Every failure becomes a one-line :class:`CliError` with its exit code: the API's
``detail`` when it refused (exit 1), "cannot reach Klaxon" or its 5xx answer
(exit 3), a bad URL or no token at all (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
import typer
from pydantic import ValidationError

from app.cli._common import (
    DEV_TOKEN_FILE,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CliError,
    read_dev_admin_token,
)
from app.settings import Settings

TIMEOUT_SECONDS = 10.0
#: FastAPI's ``detail`` for a path it has no route for; Klaxon's own 404s name
#: what is missing ("No incident #42", "no schedule 'x'").
NO_ROUTE = "Not Found"

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="KLAXON_URL",
        show_envvar=True,
        help="Klaxon's base URL (default http://KLAXON_HOST:KLAXON_PORT)",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="KLAXON_TOKEN",
        show_envvar=True,
        help="API token: read scope to look, write to act (default: $KLAXON_ADMIN_TOKEN,"
        f" then {DEV_TOKEN_FILE} in $KLAXON_HOME or the checkout)",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]

Params = Mapping[str, str | int | Sequence[str]]


def path_part(value: str | int) -> str:
    """A value made safe to put in a URL path."""
    return quote(str(value), safe="")


def _default_url() -> str:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "KLAXON_" + "_".join(str(p) for p in first["loc"]).upper()
        raise CliError(f"{name}: {first['msg']}", EXIT_USAGE) from None
    return f"http://{settings.host}:{settings.port}"


def _bad_url(url: str) -> CliError:
    return CliError(
        f"--url/KLAXON_URL {url!r} is not an http(s) URL like http://127.0.0.1:8080",
        EXIT_USAGE,
    )


def _checked_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise _bad_url(url) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad_url(url)
    return url.rstrip("/")


def _token(flag_or_env: str | None) -> str:
    token = flag_or_env or os.environ.get("KLAXON_ADMIN_TOKEN") or read_dev_admin_token()
    if not token:
        raise CliError(
            "no API token: pass --token or set KLAXON_TOKEN (or KLAXON_ADMIN_TOKEN);"
            " `klaxon token create --scope write` makes one",
            EXIT_USAGE,
        )
    return token


def _detail(response: httpx.Response) -> str:
    """The API's ``detail``: a message, or FastAPI's list of field errors."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', error)}"
            for error in detail
            if isinstance(error, dict)
        )
    return str(body)[:200]


@dataclass(frozen=True)
class KlaxonApi:
    url: str
    token: str
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def connect(cls, url: str | None, token: str | None) -> KlaxonApi:
        """From the command's ``--url``/``--token`` (Click has already put the
        environment in them), with the defaults above."""
        return cls(_checked_url(url or _default_url()), _token(token))

    def get(self, path: str, params: Params | None = None) -> Any:
        return self._call("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._call("POST", path, body=body)

    def put(self, path: str, body: Any = None) -> Any:
        return self._call("PUT", path, body=body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self._call("PATCH", path, body=body)

    def delete(self, path: str) -> Any:
        """``None`` for the API's 204."""
        return self._call("DELETE", path)

    def get_text(self, path: str, params: Params | None = None, *, accept: str) -> str:
        """A document that is not JSON (a Markdown post-mortem), as text."""
        return str(self._call("GET", path, params=params, accept=accept))

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        accept: str = "application/json",
    ) -> Any:
        try:
            response = httpx.request(
                method,
                self.url + path,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {self.token}", "Accept": accept},
                timeout=self.timeout,
            )
        except httpx.InvalidURL:
            raise _bad_url(self.url) from None
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise CliError(
                f"cannot reach Klaxon at {self.url}: {reason}", EXIT_UNAVAILABLE
            ) from None
        status = response.status_code
        if status == 401:
            raise CliError(
                f"Klaxon at {self.url} refused the token ({_detail(response)}):"
                " pass a valid one with --token or KLAXON_TOKEN",
                EXIT_REFUSED,
            )
        if status == 403:
            raise CliError(f"the token may not do this: {_detail(response)}", EXIT_REFUSED)
        if status == 404 and _detail(response) == NO_ROUTE:
            raise CliError(
                f"{self.url} has no {path.split('?')[0]}: is Klaxon listening there?",
                EXIT_UNAVAILABLE,
            )
        if status >= 500:
            raise CliError(
                f"Klaxon at {self.url} is unavailable ({status}): {_detail(response)}",
                EXIT_UNAVAILABLE,
            )
        if status >= 400:
            raise CliError(_detail(response), EXIT_REFUSED)
        if status == 204:
            return None
        if accept != "application/json":
            if not response.headers.get("content-type", "").startswith(accept):
                raise _not_klaxon(self.url, response)
            return response.text
        try:
            return response.json()
        except ValueError:
            raise _not_klaxon(self.url, response) from None


def _not_klaxon(url: str, response: httpx.Response) -> CliError:
    return CliError(
        f"{url} did not answer like Klaxon (HTTP {response.status_code},"
        f" {response.headers.get('content-type', 'no content type')})",
        EXIT_UNAVAILABLE,
    )
