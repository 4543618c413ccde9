"""The console's admin pages (app/console/admin.py) and who may be an admin:
tokens shown once and revoked, the rules file checked and reloaded, the
delivery log with Twilio's status and error; a non-admin gets 403 everywhere,
and only an admin-scope token (or ``klaxon apply``) makes an admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.clock import ManualClock
from tests.console.helpers import console_client, csrf_of, sign_in
from tests.fakes.twilio_server import FakeTwilio
from tests.paging import ALICE, BOB, CAROL, Paging, checkout_alert, open_incident, serve_paging

SECRET = re.compile(r'<code id="new-token-secret">([^<]+)</code>')
ADMIN_PAGES = ["/admin", "/admin/tokens", "/admin/rules", "/admin/deliveries"]
ADMIN_FORMS = ["/admin/tokens", "/admin/tokens/1/revoke", "/admin/rules/reload"]


GOOD_RULES = """\
routes:
  - name: checkout
    matchers: ['service="checkout"']
    service: checkout
    policy: checkout-oncall
default_route:
  policy: default
"""


@pytest.fixture
async def rules_copy(tmp_path: Path) -> Path:
    """Rules whose policies all exist once tests/paging.py's on-call file is applied."""
    copy = tmp_path / "rules.yaml"
    copy.write_text(GOOD_RULES)
    return copy


@pytest.fixture
async def served(
    db: str, fake_twilio: FakeTwilio, clock: ManualClock, rules_copy: Path
) -> AsyncIterator[Paging]:
    async with serve_paging(db, fake_twilio, clock, config=rules_copy) as paging:
        made = await paging.api.put("/api/v1/responders/bob", json={"phone": BOB, "admin": True})
        assert made.status_code == 200, made.text
        yield paging


@pytest.fixture
async def admin(served: Paging) -> AsyncIterator[httpx.AsyncClient]:
    async with console_client(served) as client:
        await sign_in(client, served, BOB)
        yield client


async def test_a_non_admin_gets_403_on_every_admin_page_and_form(served: Paging) -> None:
    async with console_client(served) as client:
        await sign_in(client, served, ALICE)
        me = await client.get("/me")
        assert 'href="/admin"' not in me.text
        for page in ADMIN_PAGES:
            answer = await client.get(page)
            assert answer.status_code == 403 and "Admins only" in answer.text, page
        for form in ADMIN_FORMS:
            answer = await client.post(
                form, data={"csrf": csrf_of(me), "name": "x", "scope": "admin"}
            )
            assert answer.status_code == 403, form
    tokens = (await served.api.get("/api/v1/tokens")).json()
    assert [t["name"] for t in tokens if t["name"] == "x"] == []  # nothing was created


async def test_only_an_admin_scope_token_makes_an_admin(served: Paging) -> None:
    created = await served.api.post("/api/v1/tokens", json={"name": "cfg", "scope": "config"})
    config = {"Authorization": f"Bearer {created.json()['token']}"}
    put = await served.api.put(
        "/api/v1/responders/alice", json={"phone": ALICE, "admin": True}, headers=config
    )
    assert put.status_code == 403 and "admin-scope" in put.text
    document = {"responders": [{"name": "carol", "phone": CAROL, "admin": True}]}
    applied = await served.api.post("/api/v1/oncall-config", json=document, headers=config)
    assert applied.status_code == 403
    # Without the flag, a config token still changes responders (and keeps bob an admin).
    plain = await served.api.put(
        "/api/v1/responders/bob", json={"phone": BOB, "email": "Bob@Example.com"}, headers=config
    )
    assert plain.status_code == 200, plain.text
    async with console_client(served) as client:
        await sign_in(client, served, BOB)
        assert (await client.get("/admin")).status_code == 200
        assert "bob@example.com" in (await client.get("/me")).text


async def test_a_token_is_shown_once_works_and_is_revoked(
    served: Paging, admin: httpx.AsyncClient
) -> None:
    page = await admin.get("/admin/tokens")
    assert page.status_code == 200
    made = await admin.post(
        "/admin/tokens", data={"csrf": csrf_of(page), "name": "grafana", "scope": "read"}
    )
    assert made.status_code == 201
    found = SECRET.search(made.text)
    assert found is not None
    secret = found.group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(base_url=served.url) as outsider:
        assert (await outsider.get("/api/v1/incidents", headers=bearer)).status_code == 200
        listed = await admin.get("/admin/tokens")
        assert secret not in listed.text and "grafana" in listed.text
        token_id = next(
            t["id"]
            for t in (await served.api.get("/api/v1/tokens")).json()
            if t["name"] == "grafana"
        )
        revoked = await admin.post(
            f"/admin/tokens/{token_id}/revoke", data={"csrf": csrf_of(listed)}
        )
        assert revoked.headers["location"] == "/admin/tokens?notice=revoked"
        assert (await outsider.get("/api/v1/incidents", headers=bearer)).status_code == 401
    bad = await admin.post(
        "/admin/tokens", data={"csrf": csrf_of(listed), "name": "", "scope": "read"}
    )
    assert bad.status_code == 422 and "Name the token" in bad.text
    bad = await admin.post(
        "/admin/tokens", data={"csrf": csrf_of(listed), "name": "n", "scope": "root"}
    )
    assert bad.status_code == 422 and "Choose a scope" in bad.text
    forged = await admin.post("/admin/tokens", data={"name": "n", "scope": "admin"})
    assert forged.status_code == 403  # no CSRF token


async def test_the_rules_file_is_checked_and_reloaded_only_when_good(
    served: Paging, admin: httpx.AsyncClient, rules_copy: Path
) -> None:
    page = await admin.get("/admin/rules")
    assert "passes the check" in page.text and "1 routes" in page.text
    rules_copy.write_text(GOOD_RULES + "\nroutes: [oops\n")
    page = await admin.get("/admin/rules")
    assert "would be refused" in page.text and "rules.yaml" in page.text
    refused = await admin.post("/admin/rules/reload", data={"csrf": csrf_of(page)})
    assert refused.status_code == 400 and "old rules kept" in refused.text
    rules_copy.write_text(GOOD_RULES.replace("checkout-oncall", "storage-oncall"))
    page = await admin.get("/admin/rules")
    assert "would be refused" in page.text and "storage-oncall" in page.text
    refused = await admin.post("/admin/rules/reload", data={"csrf": csrf_of(page)})
    assert refused.status_code == 400 and "storage-oncall" in refused.text
    assert served.app.state.runtime.rules.current.routes[0].policy == "checkout-oncall"
    rules_copy.write_text(GOOD_RULES.replace("service: checkout", "service: payments"))
    reloaded = await admin.post("/admin/rules/reload", data={"csrf": csrf_of(page)})
    assert reloaded.headers["location"] == "/admin/rules?notice=reloaded"
    assert served.app.state.runtime.rules.current.routes[0].service == "payments"


async def test_the_delivery_log_shows_twilios_status_and_error_newest_first(
    served: Paging, admin: httpx.AsyncClient
) -> None:
    served.fake.fail_next(1, status=400, code=21211, message="Invalid 'To' Phone Number")
    await open_incident(served, checkout_alert("d1"))
    await served.tick()
    log = await admin.get("/admin/deliveries")
    assert log.status_code == 200
    assert "21211" in log.text and "Invalid &#39;To&#39; Phone Number" in log.text
    assert "Reply" not in log.text  # texts are not shown (they carry signed links)
    ids = [int(i) for i in re.findall(r'data-notification="(\d+)"', log.text)]
    assert ids == sorted(ids, reverse=True) and ids


async def test_the_delivery_log_is_paged_fifty_at_a_time(
    served: Paging, admin: httpx.AsyncClient
) -> None:
    me = await admin.get("/me")
    for _ in range(50):
        sent = await admin.post("/me/test-page", data={"csrf": csrf_of(me)})
        assert sent.status_code == 303
    first = await admin.get("/admin/deliveries")
    newest = [int(i) for i in re.findall(r'data-notification="(\d+)"', first.text)]
    assert len(newest) == 50  # 51 rows: the sign-in code and 50 tests
    older = re.search(r'href="(/admin/deliveries\?before=\d+)"', first.text)
    assert older is not None
    second = await admin.get(older.group(1))
    rest = [int(i) for i in re.findall(r'data-notification="(\d+)"', second.text)]
    assert len(rest) == 1 and rest[0] < min(newest)
    assert 'id="older"' not in second.text
