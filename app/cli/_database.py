"""Commands that work on the database directly (migrate, apply, tokens) report its
failures in one line: an unusable URL, or a database that cannot be reached."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.cli._common import EXIT_REFUSED, EXIT_UNAVAILABLE, CliError
from app.settings import Settings


def where(settings: Settings) -> str:
    """The database URL without its user and password."""
    url = settings.database_url
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


@contextmanager
def database_errors(settings: Settings, doing: str = "") -> Iterator[None]:
    """Turn an unusable database URL (exit 1) or an unreachable database (exit 3)
    into a :class:`CliError`; ``doing`` ends the message (e.g. "; nothing was written")."""
    from sqlalchemy.exc import ArgumentError

    from app.db import is_unavailable

    try:
        yield
    except (ArgumentError, ImportError) as exc:
        raise CliError(
            f"KLAXON_DATABASE_URL {where(settings)!r} is not a usable database URL: {exc}"
            f" (use postgresql+asyncpg://... or sqlite+aiosqlite:///...){doing}",
            EXIT_REFUSED,
        ) from exc
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        cause: BaseException = getattr(exc, "orig", None) or exc
        reason = str(cause).strip().splitlines()
        detail = f"{type(cause).__name__}: {reason[0]}" if reason else type(cause).__name__
        raise CliError(
            f"cannot reach the database at {where(settings)} ({detail}){doing}",
            EXIT_UNAVAILABLE,
        ) from exc
