"""The ASGI application for ``uvicorn app.asgi:app``, configured from the environment."""

from app.main import create_app
from app.settings import StartupRefused

try:
    app = create_app()
except StartupRefused as exc:
    # One line on stderr and exit status 1, not a traceback through uvicorn's import.
    raise SystemExit(f"klaxon: refusing to start: {exc}") from None
