"""A small OpenID Connect provider on loopback, for the console's single sign-on.

It speaks the authorization code flow as a real provider does, with the parts
a client must check: a discovery document, an authorization endpoint that
signs in ``user`` at once (no login form: the test decides who) and returns
``state`` as given, a token endpoint that checks the client's secret (HTTP
Basic), the code, the redirect URI and the PKCE verifier, and a JWKS with the
RSA key that signs each id_token (RS256, with ``kid``). Times come from the
test's clock.

Knobs for the tests of what must be refused: ``claims_override`` changes
the next id_tokens' claims (another nonce, audience, an expired ``exp``), and
``foreign_key`` signs them with a key the JWKS does not publish.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fakes.twilio_server import serve_asgi

CLIENT_ID = "klaxon-console"
CLIENT_SECRET = "fake-oidc-client-secret"


@dataclass
class _Grant:
    redirect_uri: str
    nonce: str
    challenge: str
    claims: dict[str, Any]


@dataclass
class FakeOidcProvider:
    now: Callable[[], datetime]
    issuer: str = ""
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "u-1", "email": "alice@example.com", "email_verified": True}
    )
    claims_override: dict[str, Any] = field(default_factory=dict)
    foreign_key: bool = False
    authorizations: list[dict[str, str]] = field(default_factory=list)
    tokens_issued: int = 0
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _key: RSAKey = field(default_factory=lambda: _rsa("k1"))
    _other: RSAKey = field(default_factory=lambda: _rsa("k1"))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            return {"keys": [self._key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(
            client_id: str,
            redirect_uri: str,
            response_type: str,
            scope: str,
            state: str = "",
            nonce: str = "",
            code_challenge: str = "",
            code_challenge_method: str = Query(""),
        ) -> RedirectResponse:
            self.authorizations.append(
                {"client_id": client_id, "redirect_uri": redirect_uri, "state": state}
            )
            if client_id != CLIENT_ID or response_type != "code" or "openid" not in scope.split():
                raise HTTPException(400, "invalid_request")
            if code_challenge_method != "S256" or not code_challenge:
                raise HTTPException(400, "PKCE S256 required")
            code = secrets.token_urlsafe(24)
            self._grants[code] = _Grant(redirect_uri, nonce, code_challenge, dict(self.user))
            query = urlencode({"code": code, "state": state})
            return RedirectResponse(f"{redirect_uri}?{query}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> JSONResponse:
            form = dict(parse_qsl((await request.body()).decode()))
            grant_type, code = form.get("grant_type", ""), form.get("code", "")
            redirect_uri, code_verifier = form.get("redirect_uri"), form.get("code_verifier", "")
            authorization = request.headers.get("authorization", "")
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if authorization != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self._grants.pop(code, None)
            if grant_type != "authorization_code" or grant is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if redirect_uri != grant.redirect_uri or challenge != grant.challenge:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(self.now().timestamp())
            claims = {
                "iss": self.issuer,
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": grant.nonce,
                **grant.claims,
                **self.claims_override,
            }
            key = self._other if self.foreign_key else self._key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
            self.tokens_issued += 1
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": id_token,
                }
            )

        return app


def _rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@contextlib.asynccontextmanager
async def serve_oidc(now: Callable[[], datetime]) -> AsyncIterator[FakeOidcProvider]:
    """The provider, served on loopback; its ``issuer`` is its own URL."""
    provider = FakeOidcProvider(now=now)
    async with serve_asgi(provider.app()) as url:
        provider.issuer = url
        yield provider
