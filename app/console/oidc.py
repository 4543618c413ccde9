"""Optional single sign-on to the console by OpenID Connect (authorization code
flow with PKCE), when ``KLAXON_CONSOLE_OIDC_ISSUER``, ``_CLIENT_ID`` and
``_CLIENT_SECRET`` are set.

``/signin/oidc`` reads the provider's discovery document, then sends the
browser to its authorization endpoint with a random ``state``, ``nonce`` and
PKCE verifier, kept in a short-lived ``HttpOnly`` cookie of this site. The
callback refuses an answer whose ``state`` is not the cookie's (a sign-in
forged by another site), exchanges the code (authlib's httpx client,
``client_secret_basic``), and checks the id_token with joserfc against the
provider's JWKS: signature, issuer, audience, expiry by Klaxon's clock, and the
``nonce`` (a token replayed from another sign-in is refused).

The configured claim (``email`` by default, which the provider must have
verified) is matched to a responder's ``email``. Someone the provider knows
but Klaxon does not is refused politely, and nothing is created: a responder
exists only as an admin put them in the on-call file.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import timedelta
from typing import Annotated, Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from app.console.access import OIDC, begin_session, set_session_cookie
from app.console.web import PRE_COOKIE, error_page, redirect, runtime_of, set_cookie
from app.models import responders_table
from app.settings import Settings
from app.transaction import unit_of_work

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
FLOW_COOKIE = "klaxon_oidc"
FLOW_SECONDS = 600
ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]


class SignOnFailed(Exception):
    """The provider's answer does not sign anyone in; ``message`` says why, to a person."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def _next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


def _client(settings: Settings, redirect_uri: str) -> AsyncOAuth2Client:
    assert settings.console_oidc_client_secret is not None
    return AsyncOAuth2Client(
        client_id=settings.console_oidc_client_id,
        client_secret=settings.console_oidc_client_secret.get_secret_value(),
        scope="openid email profile",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=settings.console_oidc_timeout,
    )


async def _get_json(settings: Settings, url: str) -> Any:
    async with httpx.AsyncClient(timeout=settings.console_oidc_timeout) as plain:
        answer = await plain.get(url)
    answer.raise_for_status()
    return answer.json()


async def _discover(settings: Settings, issuer: str) -> dict[str, Any]:
    """The provider's metadata, which must name the configured issuer."""
    meta = await _get_json(settings, issuer.rstrip("/") + "/.well-known/openid-configuration")
    if not isinstance(meta, dict):
        raise SignOnFailed("The sign-in provider's metadata is not a JSON object.", 502)
    if meta.get("issuer") != issuer:
        raise SignOnFailed("The sign-in provider names another issuer.", 502)
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise SignOnFailed(f"The sign-in provider's metadata lacks {key}.", 502)
    return meta


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _failed(request: Request, message: str, status_code: int) -> HTMLResponse:
    response = error_page(
        request,
        None,
        status_code,
        "Single sign-on did not sign you in",
        message,
        template="denied.html",
        action="/signin",
        action_text="Back to sign in",
    )
    response.delete_cookie(FLOW_COOKIE, path="/")
    return response


@router.get("/signin/oidc", response_class=HTMLResponse)
async def start(
    request: Request, target: Annotated[str, Query(alias="next", max_length=2000)] = "/"
) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.console_oidc_configured or settings.console_oidc_issuer is None:
        return _failed(request, "Single sign-on is not set up here: sign in with a code.", 404)
    state, nonce, verifier = (secrets.token_urlsafe(n) for n in (24, 24, 48))
    try:
        meta = await _discover(settings, settings.console_oidc_issuer)
        async with _client(settings, _redirect_uri(request)) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
            )
    except SignOnFailed as exc:
        return _failed(request, exc.message, exc.status_code)
    except (httpx.HTTPError, OAuthError, ValueError) as exc:
        log.warning("OIDC discovery failed: %s", exc)
        return _failed(request, "The sign-in provider did not answer. Try again later.", 502)
    flow = ".".join([state, nonce, verifier, _b64(_next(target))])
    response = redirect("/")
    response.headers["location"] = url  # the provider: the one redirect to another site
    set_cookie(response, runtime, FLOW_COOKIE, flow, FLOW_SECONDS)
    return response


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except ValueError:
        return "/"


async def _identity(
    request: Request, code: str, nonce: str, verifier: str, settings: Settings
) -> str:
    """The configured claim of the id_token the code is exchanged for, checked."""
    assert settings.console_oidc_issuer is not None
    issuer = settings.console_oidc_issuer
    meta = await _discover(settings, issuer)
    async with _client(settings, _redirect_uri(request)) as client:
        token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
    jwks = await _get_json(settings, meta["jwks_uri"])
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignOnFailed("The sign-in provider sent no id_token.", 502)
    decoded = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)
    now = int(runtime_of(request).clock.now().timestamp())
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=60,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": settings.console_oidc_client_id or ""},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    registry.validate(decoded.claims)
    claim = settings.console_oidc_claim
    value = decoded.claims.get(claim)
    if not isinstance(value, str) or not value:
        raise SignOnFailed(f"The sign-in provider did not say your {claim}.", 403)
    if claim == "email" and decoded.claims.get("email_verified") is not True:
        raise SignOnFailed("The sign-in provider has not verified your e-mail.", 403)
    return value.strip().lower()


@router.get("/signin/oidc/callback", response_class=HTMLResponse, name="oidc_callback")
async def callback(
    request: Request,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.console_oidc_configured:
        return _failed(request, "Single sign-on is not set up here: sign in with a code.", 404)
    parts = request.cookies.get(FLOW_COOKIE, "").split(".")
    if len(parts) != 4 or not state or not secrets.compare_digest(parts[0], state):
        return _failed(request, "This sign-in was not started here, or took too long.", 400)
    if error or not code:
        return _failed(request, "The sign-in provider did not sign you in.", 403)
    _, nonce, verifier, encoded_next = parts
    try:
        identity = await _identity(request, code, nonce, verifier, settings)
    except SignOnFailed as exc:
        return _failed(request, exc.message, exc.status_code)
    except JoseError as exc:
        log.warning("OIDC id_token refused: %s", exc)
        return _failed(request, "The sign-in provider's answer did not check out.", 403)
    except Exception as exc:  # authlib's transport errors too (httpx or httpx2)
        log.warning("OIDC code exchange failed: %s: %s", type(exc).__name__, exc)
        return _failed(request, "The sign-in provider's answer could not be used.", 502)
    r = responders_table.c  # e-mails are stored lower-cased (app/oncall/schemas.py)
    async with unit_of_work(runtime) as uow:
        session = uow.session
        responder_id = (await session.execute(select(r.id).where(r.email == identity))).scalar()
        if responder_id is None:
            return _failed(
                request,
                f"You signed in as {identity}, but no responder has that e-mail. Ask an"
                " admin to add it to your responder (email: in the on-call file).",
                403,
            )
        now = runtime.clock.now()
        secret = await begin_session(session, settings, responder_id, now, via=OIDC)
    response = redirect(_next(_unb64(encoded_next)))
    set_session_cookie(
        request, response, secret, timedelta(hours=settings.console_session_hours).total_seconds()
    )
    response.delete_cookie(FLOW_COOKIE, path="/")
    response.delete_cookie(PRE_COOKIE, path="/")
    return response
