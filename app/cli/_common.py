"""What every ``klaxon`` command shares: exit codes, failing with a message, JSON
output and the development admin token.

Exit codes::

    0  done
    1  refused: the thing does not exist, the API or the database said no
       (a conflict, a bad token or scope, an invalid file)
    2  usage: a bad or missing argument or option (as Typer does), no token to send
    3  unavailable: Klaxon or its database cannot be reached, or answered 5xx
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

DEV_TOKEN_FILE = Path(".klaxon") / "admin-token"


class CliError(Exception):
    """A failure to report in one line, with the exit code it deserves."""

    def __init__(self, message: str, exit_code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def fail(message: str, exit_code: int = EXIT_REFUSED) -> NoReturn:
    """Stop the command: the message goes to stderr (see ``KlaxonGroup``)."""
    raise CliError(message, exit_code)


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def read_dev_admin_token() -> str | None:
    """The token ``klaxon serve --dev`` generated, if there is one."""
    try:
        return DEV_TOKEN_FILE.read_text().strip() or None
    except OSError:
        return None


def dev_admin_token() -> str:
    """A generated admin token for local use, kept across restarts."""
    existing = read_dev_admin_token()
    if existing is not None:
        return existing
    token = "kx_admin_" + secrets.token_urlsafe(24)
    DEV_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
    DEV_TOKEN_FILE.write_text(token + "\n")
    DEV_TOKEN_FILE.chmod(0o600)
    return token
