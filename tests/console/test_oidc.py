"""Single sign-on by OpenID Connect (app/console/oidc.py) against a small provider
of the tests' own on loopback (tests/fakes/oidc_provider.py): the e-mail
signs in its responder; an unknown one is refused politely; a wrong state,
nonce, audience, signature or an expired id_token signs nobody in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.console.helpers import console_client
from tests.fakes.oidc_provider import FakeOidcProvider
from tests.paging import Paging


async def _authorize(client: httpx.AsyncClient, target: str = "/oncall") -> str:
    """Start at Klaxon, let the provider answer; the callback's path and query."""
    started = await client.get("/signin/oidc", params={"next": target})
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as browser:
        answered = await browser.get(started.headers["location"])
    assert answered.status_code == 302, answered.text
    back = urlsplit(answered.headers["location"])
    assert back.path == "/signin/oidc/callback"
    return f"{back.path}?{back.query}"


async def test_signing_in_with_the_provider_opens_the_console_as_the_responder(
    sso: tuple[Paging, FakeOidcProvider],
) -> None:
    paging, provider = sso
    async with console_client(paging) as client:
        signin = await client.get("/signin")
        assert 'id="sso"' in signin.text
        callback = await _authorize(client)
        asked = provider.authorizations[-1]
        assert asked["redirect_uri"] == "https://klaxon.test/signin/oidc/callback"
        done = await client.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/oncall", done.text
        page = await client.get("/oncall")
        assert page.status_code == 200 and "Sign out <bdi>alice</bdi>" in page.text
        replayed = await client.get(callback)  # the flow's cookie is gone, the code used
        assert replayed.status_code == 400


async def test_an_e_mail_of_no_responder_is_refused_politely(
    sso: tuple[Paging, FakeOidcProvider],
) -> None:
    paging, provider = sso
    provider.user = {"sub": "u-9", "email": "mallory@example.com", "email_verified": True}
    async with console_client(paging) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 403
        assert (
            "mallory@example.com" in refused.text and "no responder has that e-mail" in refused.text
        )
        assert (await client.get("/")).status_code == 303  # not signed in


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("nonce", "another-sign-in"),
        ("aud", "another-client"),
        ("iss", "https://evil.example"),
        ("exp", 1_000_000_000),  # 2001
        ("email_verified", False),
        ("foreign_key", True),
    ],
)
async def test_an_id_token_that_does_not_check_out_signs_nobody_in(
    sso: tuple[Paging, FakeOidcProvider], knob: str, value: Any
) -> None:
    paging, provider = sso
    if knob == "foreign_key":
        provider.foreign_key = True
    else:
        provider.claims_override = {knob: value}
    async with console_client(paging) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 403, refused.text
        assert provider.tokens_issued == 1  # the code was exchanged, the token refused
        assert (await client.get("/")).status_code == 303


async def test_a_callback_with_another_state_is_refused(
    sso: tuple[Paging, FakeOidcProvider],
) -> None:
    paging, provider = sso
    async with console_client(paging) as client:
        callback = await _authorize(client)
        query = parse_qs(urlsplit(callback).query)
        forged = await client.get(
            "/signin/oidc/callback", params={"code": query["code"][0], "state": "forged"}
        )
        assert forged.status_code == 400 and "not started here" in forged.text
        assert provider.tokens_issued == 0
    async with console_client(paging) as other:  # another browser: no flow cookie
        assert (await other.get(callback)).status_code == 400


async def test_without_settings_there_is_no_single_sign_on(paging: Paging) -> None:
    async with console_client(paging) as client:
        assert 'id="sso"' not in (await client.get("/signin")).text
        assert (await client.get("/signin/oidc")).status_code == 404
