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
import os
import secrets
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

#: The development admin token, relative to the Klaxon home (see :func:`klaxon_home`).
DEV_TOKEN_NAME = "admin-token"
#: The home's name in the checkout or the working directory.
HOME_DIR_NAME = ".klaxon"
#: The source checkout, when Klaxon runs from one (``app/cli/_common.py`` is in it).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: How the token file is named in help texts.
DEV_TOKEN_FILE = Path(HOME_DIR_NAME) / DEV_TOKEN_NAME


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


def klaxon_home() -> Path:
    """The directory of local state (the development admin token): ``KLAXON_HOME``
    if set; else, when Klaxon runs from its source checkout (``make run``, an
    editable install), that checkout's ``.klaxon/``, so a command run from any
    directory finds the token ``klaxon serve --dev`` wrote; else ``./.klaxon``."""
    configured = os.environ.get("KLAXON_HOME")
    if configured:
        return Path(configured).expanduser()
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return PROJECT_ROOT / HOME_DIR_NAME
    return Path.cwd() / HOME_DIR_NAME


def dev_token_file() -> Path:
    return klaxon_home() / DEV_TOKEN_NAME


def read_dev_admin_token() -> str | None:
    """The token ``klaxon serve --dev`` generated, if there is one."""
    try:
        return dev_token_file().read_text().strip() or None
    except OSError:
        return None


def dev_admin_token() -> str:
    """A generated admin token for local use, kept across restarts."""
    existing = read_dev_admin_token()
    if existing is not None:
        return existing
    token = "kx_admin_" + secrets.token_urlsafe(24)
    path = dev_token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token
