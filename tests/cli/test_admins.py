"""Console admins from the command line: ``klaxon apply`` with ``admin: true`` and
``email:``, and ``klaxon admin grant|revoke|list`` (app/cli/admins.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.db import make_engine, make_sessionmaker
from app.models import responders_table
from tests.cli.conftest import klaxon
from tests.conftest import make_settings

ONCALL = """\
responders:
  - name: alice
    phone: "+15551230001"
    email: Alice@Example.com
    admin: true
  - name: bob
    phone: "+15551230002"
"""


async def _stored(db: str) -> dict[str, tuple[str | None, bool]]:
    engine = make_engine(make_settings(db))
    try:
        async with make_sessionmaker(engine)() as session:
            r = responders_table.c
            rows = await session.execute(select(r.name, r.email, r.admin))
            return {row.name: (row.email, bool(row.admin)) for row in rows}
    finally:
        await engine.dispose()


async def test_apply_and_the_admin_commands_set_who_is_an_admin(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAXON_DATABASE_URL", db)  # klaxon() reads settings afresh
    klaxon_db = db
    oncall = tmp_path / "oncall.yaml"
    oncall.write_text(ONCALL)
    applied = await klaxon("apply", "-f", str(oncall))
    assert applied.exit_code == 0, applied.output
    assert await _stored(klaxon_db) == {
        "alice": ("alice@example.com", True),
        "bob": (None, False),
    }
    granted = await klaxon("admin", "grant", "bob")
    assert granted.exit_code == 0 and "bob is now an admin" in granted.output
    revoked = await klaxon("admin", "revoke", "alice")
    assert revoked.exit_code == 0, revoked.output
    listed = await klaxon("admin", "list")
    assert listed.stdout.split() == ["bob"]
    # Applying the file again without `admin` for bob leaves him one; alice's `true` wins.
    assert (await klaxon("apply", "-f", str(oncall))).exit_code == 0
    assert await _stored(klaxon_db) == {
        "alice": ("alice@example.com", True),
        "bob": (None, True),
    }
    unknown = await klaxon("admin", "grant", "mallory")
    assert unknown.exit_code != 0 and "no responder 'mallory'" in unknown.output
