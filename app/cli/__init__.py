"""The ``klaxon`` command."""

from app.cli.local import cli, main

__all__ = ["cli", "main"]
