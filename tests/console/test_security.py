"""The console's own credential: a session cookie (Secure, HttpOnly,
SameSite=Lax) and a CSRF token on every form; strict headers on every page.
API bearer tokens are no console session."""

from __future__ import annotations

from tests.conftest import ADMIN_TOKEN
from tests.console.helpers import ask_code, console_client, csrf_of, sign_in
from tests.paging import ALICE, Paging, checkout_alert, open_incident

PAGES = ["/", "/oncall", "/incidents/1"]
FORMS = ["/incidents/1/acknowledge", "/incidents/1/resolve", "/incidents/acknowledge", "/signout"]


async def test_pages_redirect_to_sign_in_and_back(paging: Paging) -> None:
    async with console_client(paging) as client:
        for path in PAGES:
            answer = await client.get(path, params={"status": "all"})
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/signin?next=%2F"), path
        assert (await client.get("/live")).status_code == 401
        for path in FORMS:
            answer = await client.post(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/signin?next=%2F", path


async def test_an_api_token_is_not_a_console_session(paging: Paging) -> None:
    async with console_client(paging) as client:
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        for path in PAGES:
            assert (await client.get(path, headers=bearer)).status_code == 303, path
        assert (await client.get("/live", headers=bearer)).status_code == 401


async def test_the_session_cookie_is_secure_httponly_and_lax(paging: Paging) -> None:
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        [session_cookie] = [c for c in client.cookies.jar if c.name == "klaxon_session"]
    assert session_cookie.secure
    assert session_cookie.has_nonstandard_attr("HttpOnly")
    assert session_cookie.get_nonstandard_attr("SameSite") == "lax"


async def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    paging: Paging,
) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        assert (await ask_code(client, ALICE)).status_code == 303
        refused = await client.post("/signin", data={"phone": ALICE})
        assert refused.status_code == 403
        forged = await client.post("/signin", data={"phone": ALICE, "csrf": "0" * 64})
        assert forged.status_code == 403
        before_sign_in = csrf_of(await client.get("/signin"))
        await sign_in(client, paging, ALICE)
        for path in FORMS:
            bare = await client.post(path, data={"number": str(number)})
            assert bare.status_code == 403, path
            # The token from before sign-in is not this session's.
            other = await client.post(path, data={"number": str(number), "csrf": before_sign_in})
            assert other.status_code == 403, path
        assert (await client.get("/")).status_code == 200  # still signed in
    detail = await paging.api.get(f"/api/v1/incidents/{number}")
    assert detail.json()["status"] == "triggered"


async def test_every_page_has_a_strict_content_security_policy(paging: Paging) -> None:
    async with console_client(paging) as client:
        signin_page = await client.get("/signin")
        await sign_in(client, paging, ALICE)
        pages = [signin_page, await client.get("/"), await client.get("/oncall")]
        static = await client.get("/static/console/live.js")
    for page in pages:
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text and " style=" not in page.text
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"


async def test_a_redirect_after_sign_in_stays_on_this_site(paging: Paging) -> None:
    async with console_client(paging) as client:
        page = await client.get("/signin", params={"next": "//evil.example/x"})
        assert 'value="/"' in page.text and "evil.example" not in page.text
        csrf = csrf_of(page)
        asked = await client.post(
            "/signin", data={"csrf": csrf, "phone": ALICE, "next": "https://evil.example"}
        )
        assert "evil.example" not in asked.headers["location"]


async def test_a_page_with_its_css_and_js_weighs_under_150_kb(paging: Paging) -> None:
    number = await open_incident(paging, checkout_alert())
    async with console_client(paging) as client:
        await sign_in(client, paging, ALICE)
        pages = [await client.get("/"), await client.get(f"/incidents/{number}")]
        assets = [await client.get(f"/static/console/{f}") for f in ("console.css", "live.js")]
    assert all(answer.status_code == 200 for answer in pages + assets)
    for page in pages:
        assert len(page.content) + sum(len(a.content) for a in assets) < 150 * 1024
