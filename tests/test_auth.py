"""Who may call what: every route of the app, called with no token and with a
token of every scope, answers as the access table below says.

The table is the decision: a route that is not in it fails
``test_every_route_has_a_decided_access``, so a new route cannot ship without
someone deciding who may call it. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from app.api_errors import api_routes
from app.auth import SCOPES, Principal
from app.deps import ID_MAX

# Who may call a route: a scope (a token of that scope or of one that includes
# it), PUBLIC (anyone who reaches the port, by default), or OWN (its own
# credential, not a bearer token: Twilio's signature, PagerDuty's routing key).
PUBLIC = "public"
OWN = "own credential"

ACCESS: dict[tuple[str, str], str] = {
    # Operations and documents.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # unless KLAXON_METRICS_TOKEN (tests/test_ops.py)
    ("GET", "/openapi.json"): PUBLIC,  # unless KLAXON_DOCS_ENABLED=false
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("POST", "/-/reload"): "admin",
    # Tokens.
    ("GET", "/api/v1/tokens"): "admin",
    ("POST", "/api/v1/tokens"): "admin",
    ("DELETE", "/api/v1/tokens/{token_id}"): "admin",
    # Alerts in.
    ("POST", "/api/v1/webhooks/alertmanager"): "ingest",
    ("POST", "/api/v1/webhooks/healthcheck"): "ingest",
    ("GET", "/api/v1/heartbeats/{name}/ping"): "ingest",
    ("POST", "/api/v1/heartbeats/{name}/ping"): "ingest",
    ("POST", "/api/v1/webhooks/change"): "ingest",
    ("POST", "/v2/enqueue"): OWN,
    ("POST", "/v2/change/enqueue"): OWN,
    ("POST", "/api/v1/twilio/sms"): OWN,
    ("POST", "/api/v1/twilio/status/{notification_id}"): OWN,
    ("POST", "/api/v1/twilio/voice/{notification_id}"): OWN,
    ("POST", "/api/v1/twilio/voice/{notification_id}/gather"): OWN,
    # Slack: its signature, then the responder the Slack user is mapped to (tests/chat).
    ("POST", "/api/v1/chat/slack/commands"): OWN,
    ("POST", "/api/v1/chat/slack/actions"): OWN,
    # Incidents: read to look, write to act.
    ("GET", "/api/v1/incidents"): "read",
    ("POST", "/api/v1/incidents"): "write",
    ("GET", "/api/v1/incidents/{number}"): "read",
    ("PATCH", "/api/v1/incidents/{number}"): "write",
    ("POST", "/api/v1/incidents/{number}/acknowledge"): "write",
    ("POST", "/api/v1/incidents/{number}/resolve"): "write",
    ("POST", "/api/v1/incidents/{number}/notes"): "write",
    ("POST", "/api/v1/incidents/{number}/responders"): "write",
    ("GET", "/api/v1/incidents/{number}/timeline"): "read",
    ("GET", "/api/v1/incidents/{number}/updates"): "read",
    ("POST", "/api/v1/incidents/{number}/updates"): "write",
    ("GET", "/api/v1/incidents/{number}/updates/latest"): "read",
    ("GET", "/api/v1/incidents/{number}/postmortem"): "read",
    ("PUT", "/api/v1/incidents/{number}/postmortem"): "write",
    ("GET", "/api/v1/incidents/{number}/action-items"): "read",
    ("POST", "/api/v1/incidents/{number}/action-items"): "write",
    ("GET", "/api/v1/action-items"): "read",
    ("PATCH", "/api/v1/action-items/{item_id}"): "write",
    ("GET", "/api/v1/alerts"): "read",
    ("GET", "/api/v1/changes"): "read",
    ("GET", "/api/v1/incidents/{number}/changes"): "read",
    ("GET", "/api/v1/reports/response"): "read",
    # Who gets paged: config to change, read to look.
    ("GET", "/api/v1/responders"): "read",
    ("GET", "/api/v1/responders/{name}"): "read",
    ("PUT", "/api/v1/responders/{name}"): "config",
    ("GET", "/api/v1/schedules"): "read",
    ("GET", "/api/v1/schedules/{name}"): "read",
    ("PUT", "/api/v1/schedules/{name}"): "config",
    ("GET", "/api/v1/schedules/{name}/oncall"): "read",
    ("GET", "/api/v1/schedules/{name}/shifts"): "read",
    ("GET", "/api/v1/schedules/{name}/handoff"): "read",
    ("GET", "/api/v1/oncall"): "read",
    ("GET", "/api/v1/escalation-policies"): "read",
    ("GET", "/api/v1/escalation-policies/{name}"): "read",
    ("PUT", "/api/v1/escalation-policies/{name}"): "config",
    ("GET", "/api/v1/services/{service}/stakeholders"): "read",
    ("PUT", "/api/v1/services/{service}/stakeholders"): "config",
    ("GET", "/api/v1/heartbeats"): "read",
    ("GET", "/api/v1/heartbeats/{name}"): "read",
    ("PUT", "/api/v1/heartbeats/{name}"): "config",
    ("DELETE", "/api/v1/heartbeats/{name}"): "config",
    ("POST", "/api/v1/oncall-config"): "config",
    # Taking a shift: write, recorded with the token's name (tests/oncall/test_scopes.py).
    ("POST", "/api/v1/schedules/{name}/overrides"): "write",
    ("DELETE", "/api/v1/schedules/{name}/overrides/{override_id}"): "write",
    # Incident roles: acting on an incident.
    ("PUT", "/api/v1/incidents/{number}/roles/{role}"): "write",
    ("DELETE", "/api/v1/incidents/{number}/roles/{role}"): "write",
    ("POST", "/api/v1/incidents/{number}/roles/sme"): "write",
    ("DELETE", "/api/v1/incidents/{number}/roles/sme/{responder}"): "write",
    # The timeline as people read it, and the post-mortem as a file (timeline branch).
    ("GET", "/api/v1/incidents/{number}/timeline.txt"): "read",
    ("GET", "/api/v1/incidents/{number}/postmortem.md"): "read",
    # The status page: publishing is acting on an incident (write); the page, its
    # JSON and feeds are public by design, as /healthz is (and can have a host
    # name of their own, KLAXON_STATUS_HOST: tests/statuspage/test_host.py).
    ("POST", "/api/v1/incidents/{number}/public"): "write",
    ("POST", "/api/v1/incidents/{number}/public/updates"): "write",
    ("GET", "/api/v1/incidents/{number}/public"): "read",
    ("GET", "/status"): PUBLIC,
    ("GET", "/status/style.css"): PUBLIC,
    ("GET", "/status/history.atom"): PUBLIC,
    ("GET", "/status/history.rss"): PUBLIC,
    ("GET", "/status/api/v2/summary.json"): PUBLIC,
    ("GET", "/status/api/v2/status.json"): PUBLIC,
    ("GET", "/status/api/v2/components.json"): PUBLIC,
    ("GET", "/status/api/v2/incidents.json"): PUBLIC,
    ("GET", "/status/api/v2/incidents/unresolved.json"): PUBLIC,
    ("GET", "/status/api/v2/scheduled-maintenances.json"): PUBLIC,
    # The web console (app/console; not in the OpenAPI document). Its credential is
    # its own: a session cookie (a page without one redirects to sign in; the live
    # stream answers 401) and a CSRF token on every form (a POST without it is a
    # 403). Bearer tokens change nothing: tests/console/test_security.py.
    ("GET", "/signin"): PUBLIC,
    ("POST", "/signin"): OWN,
    ("GET", "/signin/code"): PUBLIC,
    ("POST", "/signin/code"): OWN,
    ("POST", "/signout"): OWN,
    ("GET", "/"): OWN,
    ("GET", "/oncall"): OWN,
    ("GET", "/live"): OWN,
    ("GET", "/incidents/{number}"): OWN,
    ("POST", "/incidents/{number}/acknowledge"): OWN,
    ("POST", "/incidents/{number}/resolve"): OWN,
    ("POST", "/incidents/acknowledge"): OWN,
    # Schedules, policies, calendar feeds and reports (app/console, issue 15 part b).
    # The feeds' credential is the per-responder secret in their path.
    ("GET", "/schedules"): OWN,
    ("GET", "/schedules/{name}"): OWN,
    ("GET", "/schedules/{name}/take"): OWN,
    ("POST", "/schedules/{name}/take"): OWN,
    ("GET", "/policies"): OWN,
    ("GET", "/reports"): OWN,
    ("GET", "/me/calendar"): OWN,
    ("POST", "/me/calendar"): OWN,
    ("GET", "/shifts.csv"): OWN,
    ("GET", "/calendar/{secret}.ics"): OWN,
    ("GET", "/calendar/{secret}/schedules/{name}.ics"): OWN,
    # Console: a page's signed link (its own credential: the ``s`` it carries), single
    # sign-on, the Me page, and the admin pages (a session of an admin: tests/console/
    # test_admin.py has a non-admin's 403s).
    ("GET", "/i/{number}"): OWN,
    ("GET", "/signin/oidc"): PUBLIC,
    ("GET", "/signin/oidc/callback"): OWN,
    ("GET", "/me"): OWN,
    ("POST", "/me/test-page"): OWN,
    ("POST", "/me/phone"): OWN,
    ("GET", "/me/phone"): OWN,
    ("POST", "/me/phone/verify"): OWN,
    ("GET", "/admin"): OWN,
    ("GET", "/admin/tokens"): OWN,
    ("POST", "/admin/tokens"): OWN,
    ("POST", "/admin/tokens/{token_id}/revoke"): OWN,
    ("GET", "/admin/rules"): OWN,
    ("POST", "/admin/rules/reload"): OWN,
    ("GET", "/admin/deliveries"): OWN,
    # The incident page's actions (consc): the console session and its CSRF token;
    # each does what a write-scope API call does.
    ("POST", "/incidents/resolve"): OWN,
    ("POST", "/incidents/{number}/escalate"): OWN,
    ("POST", "/incidents/{number}/responders"): OWN,
    ("POST", "/incidents/{number}/command"): OWN,
    ("POST", "/incidents/{number}/severity"): OWN,
    ("POST", "/incidents/{number}/updates"): OWN,
    ("POST", "/incidents/{number}/postmortem"): OWN,
    ("POST", "/incidents/{number}/action-items"): OWN,
    ("POST", "/incidents/{number}/action-items/{item_id}"): OWN,
    ("POST", "/incidents/{number}/public"): OWN,
    # Maintenance windows hold pages: config to plan, end or delete; read to look.
    ("POST", "/api/v1/maintenance"): "config",
    ("GET", "/api/v1/maintenance"): "read",
    ("POST", "/api/v1/maintenance/preview"): "read",
    ("GET", "/api/v1/maintenance/{window_id}"): "read",
    ("POST", "/api/v1/maintenance/{window_id}/end"): "config",
    ("DELETE", "/api/v1/maintenance/{window_id}"): "config",
    # Outgoing webhooks: admin, as they send incident data out (app/automation).
    ("GET", "/api/v1/webhooks/subscriptions"): "admin",
    ("POST", "/api/v1/webhooks/subscriptions"): "admin",
    ("DELETE", "/api/v1/webhooks/subscriptions/{subscription_id}"): "admin",
    # Following the status page: public, as reading it is (double opt-in, limits and
    # the URL rule protect it: tests/statuspage/test_subscriptions.py); the list of
    # subscribers holds the public's numbers and URLs: admin.
    ("POST", "/status/api/v2/subscribers/sms"): PUBLIC,
    ("POST", "/status/api/v2/subscribers/webhook"): PUBLIC,
    ("DELETE", "/status/api/v2/subscribers/{token}"): PUBLIC,
    ("GET", "/api/v1/status/subscribers"): "admin",
    ("DELETE", "/api/v1/status/subscribers/{subscriber_id}"): "admin",
    # Mattermost: the command's token or the button's HMAC, then the mapped responder.
    ("POST", "/api/v1/chat/mattermost/commands"): OWN,
    ("POST", "/api/v1/chat/mattermost/actions"): OWN,
    # Scheduled maintenance from the public maintenance windows (issue 17).
    ("GET", "/status/api/v2/scheduled-maintenances/upcoming.json"): PUBLIC,
    ("GET", "/status/api/v2/scheduled-maintenances/active.json"): PUBLIC,
    ("POST", "/api/v1/chat/mattermost/dialogs"): OWN,
}

CALLERS: list[str | None] = [None, *SCOPES]


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves: the API's and the documents'."""
    for route in api_routes(app):
        for method in route.methods or ():
            yield method, route.path
    for plain in app.router.routes:
        if isinstance(plain, Route):
            for method in plain.methods or ():
                if method != "HEAD":
                    yield method, plain.path


def concrete(path: str) -> str:
    """The path with each parameter filled by something that does not exist: an
    allowed call answers 404 (or 422 for its empty body) and changes nothing."""
    return re.sub(
        r"\{(\w+)\}",
        lambda m: str(ID_MAX) if m.group(1).endswith(("id", "number")) else "nothing-here",
        path,
    )


@pytest.fixture
async def bearers(client: httpx.AsyncClient) -> dict[str | None, dict[str, str]]:
    """Headers for each caller: none, and a token of each scope."""
    headers: dict[str | None, dict[str, str]] = {None: {"Authorization": ""}}
    for scope in SCOPES:
        created = await client.post("/api/v1/tokens", json={"name": f"t-{scope}", "scope": scope})
        assert created.status_code == 201, created.text
        headers[scope] = {"Authorization": f"Bearer {created.json()['token']}"}
    return headers


def test_every_route_has_a_decided_access(app: FastAPI) -> None:
    served = set(routes(app))
    undecided = sorted(served - set(ACCESS))
    assert undecided == [], f"decide who may call these routes (add them to ACCESS): {undecided}"
    gone = sorted(set(ACCESS) - served)
    assert gone == [], f"ACCESS names routes the app does not serve: {gone}"


async def test_every_route_answers_every_scope_as_the_table_says(
    app: FastAPI, client: httpx.AsyncClient, bearers: dict[str | None, dict[str, str]]
) -> None:
    wrong = []
    for method, path in sorted(set(routes(app))):
        needed = ACCESS[(method, path)]
        url = concrete(path)
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        answers: dict[str | None, int] = {}
        for caller in CALLERS:
            resp = await client.request(method, url, headers=bearers[caller], json=body)
            answers[caller] = resp.status_code
            if resp.status_code >= 500:
                wrong.append(f"{method} {path} as {caller}: {resp.status_code} {resp.text}")
        for caller, status in answers.items():
            if needed == PUBLIC:
                expected_ok = True
            elif needed == OWN:
                # Bearer tokens make no difference, and none is enough to get in.
                if status != answers[None] or 200 <= status < 300:
                    wrong.append(f"{method} {path} as {caller}: {status} (own credential)")
                continue
            elif caller is None:
                if status != 401:
                    wrong.append(f"{method} {path} without a token: {status}, not 401")
                continue
            else:
                expected_ok = Principal("t", caller).allows(needed)
            refused = status in (401, 403)
            if expected_ok == refused:
                wrong.append(f"{method} {path} as {caller}: {status} (needs {needed})")
    assert wrong == []


@pytest.mark.parametrize(
    ("scope", "allowed"),
    [
        ("ingest", {"ingest"}),
        ("read", {"read"}),
        ("write", {"read", "write"}),
        ("config", {"read", "write", "config"}),
        ("admin", {"ingest", "read", "write", "config", "admin"}),
    ],
)
def test_each_scope_includes_the_powers_the_readme_lists(scope: str, allowed: set[str]) -> None:
    assert {needed for needed in SCOPES if Principal("t", scope).allows(needed)} == allowed
