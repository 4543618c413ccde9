"""Settings, read from the environment with the ``KLAXON_`` prefix."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "klaxon.example.yaml"
PUBLIC_URL_REQUIRED = (
    "KLAXON_PUBLIC_URL is not set: Twilio is configured, and its calls and replies must reach"
    " Klaxon at its public address (e.g. KLAXON_PUBLIC_URL=https://klaxon.example.com)"
)


class StartupRefused(ValueError):
    """Settings Klaxon can read but must not serve with; the message names the setting."""


#: Where the processes of one server keep their metrics (app/metrics.py). It is
#: read when prometheus-client is imported, so ``klaxon serve`` sets it before
#: then: it lives here, where reading it imports nothing of prometheus-client.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KLAXON_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./klaxon.db"
    config: Path = DEFAULT_CONFIG
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes")
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    # Connections a worker keeps, and the most it opens: a burst past a pool
    # that closes what it opened beyond its size reconnects every time.
    db_pool_size: int = Field(default=20, gt=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    # A frozen or unreachable database must cost a request seconds, not the
    # freeze: each statement, each wait for a pooled connection, and the whole
    # of a request's work are bounded on the client side (a stopped server never
    # answers, so its own statement_timeout cannot help). All well under
    # Alertmanager's 10 s notify timeout; when one runs out the answer is a 503
    # with Retry-After and the transaction is rolled back (app/deadline.py).
    db_statement_timeout: float = Field(default=5.0, gt=0)
    db_pool_timeout: float = Field(default=2.0, gt=0)
    request_timeout: float = Field(
        default=8.0, gt=0, description="seconds a request may take, its body's arrival aside"
    )
    # A body that has not arrived whole this long after the request began is
    # cut off with a 408 and the connection closed (a client that declares more
    # than it sends would otherwise hold a connection and a task for ever).
    body_read_timeout: float = Field(default=10.0, gt=0)
    readyz_timeout: float = Field(default=0.9, gt=0, le=5)
    token_cache_seconds: float = Field(default=10.0, ge=0)
    # What anyone who reaches the port may read (the README's Security section):
    # without a metrics token /metrics is open; with one it needs
    # ``Authorization: Bearer <it>`` (Prometheus' ``authorization``). Docs are
    # /docs, /redoc and /openapi.json.
    metrics_token: str | None = Field(default=None, min_length=1)
    docs_enabled: bool = True
    # Inbound rate limit per ingest token, a token bucket in each process (every
    # replica and worker limits on its own). Above what one worker can ingest
    # (issue 13 aims at 500 webhooks/s of ten alerts; `make bench`), so that the limit
    # turns away a runaway sender, never one the server could have served; a
    # storm is deduped, not turned away. Sizing: README "Inbound rate limits".
    ingest_rate: float = Field(
        default=1000.0, gt=0, description="requests per second per token, in each process"
    )
    ingest_burst: int = Field(
        default=10_000, gt=0, description="requests allowed at once, in each process"
    )
    log_level: str = "info"

    # Twilio. Without an account SID and auth token, Klaxon logs each SMS and
    # call it would send instead (``make run``), and checks Twilio-style
    # signatures on replies with the admin token, which ``klaxon reply`` uses.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_auth_token_secondary: str | None = None  # for rotating the auth token
    twilio_from: str = "+15005550006"
    twilio_api_url: str = "https://api.twilio.com"
    twilio_timeout: float = Field(default=10.0, gt=0)
    # The address Twilio calls back. Required with Twilio configured (Klaxon
    # refuses to start without it); otherwise, and under `klaxon serve --dev`,
    # it defaults to the address served (see callback_url).
    public_url: str | None = None
    # Replayed callbacks (app/replies/replays.py): a bare A, R or AA acts only
    # on a page sent this recently, and the callbacks seen are remembered this long.
    bare_reply_minutes: float = Field(default=30, gt=0)
    replay_memory_hours: float = Field(default=48, gt=0)

    # A health check down again this soon after its incident resolved itself
    # reopens that incident (0 turns this off).
    healthcheck_flap_minutes: float = Field(default=10, ge=0)
    # An incident's changes (app.response.changes) start this long before its
    # impact began: "what changed recently?".
    changes_window_minutes: float = Field(default=60, gt=0, le=7 * 24 * 60)

    # The escalation engine. ``engine_enabled``: this process runs one.
    engine_enabled: bool = True
    # On PostgreSQL ``klaxon serve`` runs the engine in a process of its own
    # (``klaxon engine``) and its web workers none (issue 13: a page's round
    # trips never queue behind requests); false runs one in every web worker,
    # as on SQLite, which has no NOTIFY to wake another process.
    engine_process: bool = True
    # After a commit that made work due, NOTIFY an engine in another process
    # (app/wakeups.py); ``klaxon serve`` sets it for its web workers.
    engine_notify: bool = False
    engine_poll_seconds: float = Field(default=0.5, gt=0)
    engine_batch: int = Field(default=100, gt=0)
    engine_workers: int = Field(default=8, gt=0)  # concurrent step firers and senders
    send_lease_seconds: float = Field(default=60.0, gt=0)
    # Alerts of resolved incidents, done notifications and outbound messages
    # older than this are pruned (app/incidents/retention.py); 0 keeps them.
    retention_days: int = Field(default=400, ge=0)
    # Per destination number, as carriers block numbers that call too often.
    throttle_window_minutes: float = Field(default=15, gt=0)
    throttle_sms: int = Field(default=5, gt=0)
    throttle_calls: int = Field(default=3, gt=0)
    send_attempts: int = Field(default=5, gt=0)
    # Drills only: several processes share a clock that a test moves forward by
    # writing an offset in seconds to this file. Unset in production.
    clock_offset_file: Path | None = None

    # The public status page (app/statuspage; README "Status page"). With a
    # host name set, requests for that Host get the status page and nothing
    # else (404), so that name can be exposed publicly while the API stays
    # private. The page is served from memory, read again after each public
    # update and at least this often (replicas follow each other within it);
    # a read slower than the timeout keeps the last good copy, marked stale.
    status_host: str | None = Field(default=None, min_length=1, max_length=253)
    status_cache_seconds: float = Field(default=10.0, gt=0, le=3600)
    status_refresh_timeout: float = Field(default=2.0, gt=0, le=30)

    # The web console (app/console): sign-in by a code sent by SMS, and its sessions.
    # ``console_dev`` drops the cookies' Secure flag, for a console on plain
    # http://localhost (``klaxon serve --dev`` sets it); never in production.
    console_dev: bool = False
    console_session_hours: float = Field(default=12, gt=0, le=24 * 30)
    console_code_minutes: float = Field(default=10, gt=0, le=60)
    console_code_tries: int = Field(default=5, gt=0, le=20)
    # Codes asked for per number and per client address, per hour (each process
    # counts addresses on its own; numbers are counted in the database).
    console_codes_per_number: int = Field(default=5, gt=0)
    console_codes_per_address: int = Field(default=20, gt=0)

    # Maintenance windows and silences (app/maintenance). With Alertmanager URLs
    # (comma-separated: an HA pair gossips silences, so Klaxon posts to the first
    # that answers), every maintenance window is mirrored there as a silence,
    # created ahead of each occurrence of a recurring one (the horizon). Requests
    # are bounded by the timeout and retried with backoff; they never hold a page.
    alertmanager_urls: str = ""
    alertmanager_timeout: float = Field(default=5.0, gt=0, le=60)
    alertmanager_silence_horizon_hours: float = Field(default=24, gt=0, le=24 * 31)
    # How often the desired silences are re-planned (the horizon moving on).
    alertmanager_plan_seconds: float = Field(default=60, gt=0)

    @property
    def alertmanager_url_list(self) -> list[str]:
        """``KLAXON_ALERTMANAGER_URLS`` split on commas, in order, without blanks."""
        return [u.strip().rstrip("/") for u in self.alertmanager_urls.split(",") if u.strip()]

    # ChatOps in Slack (app/chat/, README "Slack"). Without the signing secret
    # the Slack endpoints refuse every request; without the bot token and
    # channel no card is posted.
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    slack_channel: str | None = None  # the main incident channel's id (C0123...)
    slack_api_url: str = "https://slack.com/api/"  # a fake on loopback in tests
    slack_timeout: float = Field(default=5.0, gt=0)
    # Severities whose incidents get a channel of their own (inc-<n>-<slug>),
    # comma-separated; empty: none.
    slack_incident_channel_severities: str = "SEV1,SEV2"

    @field_validator("public_url")
    @classmethod
    def _blank_is_unset(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        return url.strip()

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        # A shorter lease would never send anything (see send_needs_seconds).
        needed = self.send_needs_seconds
        if self.send_lease_seconds <= needed:
            raise ValueError(
                f"KLAXON_SEND_LEASE_SECONDS ({self.send_lease_seconds:g}) must be longer than"
                f" KLAXON_TWILIO_TIMEOUT + KLAXON_DB_CONNECT_TIMEOUT ({needed:g})"
            )
        return self

    @property
    def send_needs_seconds(self) -> float:
        """How long a claim must still hold for a send to start: Twilio's whole
        timeout plus the commit of the outcome (app/notify/dispatch.py)."""
        return self.twilio_timeout + self.db_connect_timeout

    @property
    def served_url(self) -> str:
        """The address this process serves on, as a client on this host reaches it."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def callback_url(self) -> str:
        """Where Twilio's callbacks come to, and the URL their signatures cover:
        ``public_url``, else (no Twilio: logged pages and ``klaxon reply``) the
        address served, never a port this process does not listen on."""
        return (self.public_url or self.served_url).rstrip("/")

    def check_serving(self) -> None:
        """Refuse to serve with settings under which pages would go out but their
        callbacks (keys pressed, replies, delivery) could never come back."""
        if self.twilio_configured and self.public_url is None:
            raise StartupRefused(PUBLIC_URL_REQUIRED)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def slack_cards_enabled(self) -> bool:
        """Whether incidents get a card in the main Slack channel."""
        return bool(self.slack_bot_token and self.slack_channel)

    @property
    def slack_channel_severities(self) -> frozenset[str]:
        names = self.slack_incident_channel_severities.split(",")
        return frozenset(n.strip().upper() for n in names if n.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    # --- Auto-remediation (app/automation) ---------------------------------------
    # Signs every action and outgoing webhook (Standard Webhooks: whsec_ + base64 of
    # at least 16 random bytes, e.g. `python -c "import base64, os;
    # print('whsec_' + base64.b64encode(os.urandom(32)).decode())"`). Unset, actions
    # and webhooks are not sent (their timeline says so).
    automation_secret: SecretStr | None = None

    @field_validator("automation_secret")
    @classmethod
    def _automation_secret_is_whsec(cls, secret: SecretStr | None) -> SecretStr | None:
        import base64
        import binascii

        if secret is None or not secret.get_secret_value().strip():
            return None
        raw = secret.get_secret_value().strip()
        try:
            key = base64.b64decode(raw.removeprefix("whsec_") + "==")
        except (binascii.Error, ValueError):
            key = b""
        if not raw.startswith("whsec_") or len(key) < 16:
            raise ValueError(
                "KLAXON_AUTOMATION_SECRET must be whsec_ followed by the base64 of at least"
                " 16 bytes"
            )
        return SecretStr(raw)

    # --- Status page subscriptions (app/statuspage/subscriptions.py) ------------
    # Members of the public follow the page by SMS (double opt-in: they reply YES;
    # STOP deletes them) or by webhook. New subscriptions are limited per hour
    # across the whole page (an SMS costs money and can be abused to pump texts),
    # a number is sent one confirmation per ``status_confirm_minutes``, and a
    # pending one expires after a day. Webhook URLs must be https and resolve to
    # public addresses only; ``status_webhook_hosts`` (comma-separated host or
    # host:port) lists the only hosts allowed instead, trusted by whoever set it
    # (http and private addresses then pass too: a receiver inside the network).
    status_subscriptions_per_hour: int = Field(default=60, ge=0)
    status_subscribers_max: int = Field(default=10_000, ge=0)
    status_confirm_minutes: float = Field(default=60, gt=0)
    status_webhook_hosts: str = ""

    @property
    def status_webhook_allowed(self) -> frozenset[str]:
        hosts = self.status_webhook_hosts.split(",")
        return frozenset(h.strip().lower() for h in hosts if h.strip())

    # --- The console's calendar feeds, shift CSV and reports (issue 15, app/console) ---
    # Working hours in each responder's own time zone, Monday to Friday: time on call
    # (and pages) outside them is off-hours, what the playbook compensates. The
    # start is inclusive, the end exclusive (18 means up to 17:59).
    calendar_work_start_hour: int = Field(default=9, ge=0, le=23)
    calendar_work_end_hour: int = Field(default=18, ge=1, le=24)
    # How far ahead a calendar feed lists shifts, and how often a calendar
    # application is asked to fetch it again (REFRESH-INTERVAL).
    calendar_feed_days: int = Field(default=366, ge=1, le=800)
    calendar_refresh_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # --- Console: signed page links, single sign-on, admin (app/console, consa) ------
    # Page SMS carry a link that opens the incident signed in as the paged responder
    # (app/notify/links.py): with a secret (at least 32 characters, e.g. `python -c
    # "import secrets; print(secrets.token_urlsafe(32))"`) and KLAXON_PUBLIC_URL set,
    # unless turned off. A link works for `valid_hours` after the page; what it opens
    # lasts `session_minutes`.
    console_link_in_sms: bool = True
    console_link_secret: SecretStr | None = None
    console_link_valid_hours: float = Field(default=12, gt=0, le=24 * 7)
    console_link_session_minutes: float = Field(default=30, gt=0, le=24 * 60)
    # OpenID Connect single sign-on (app/console/oidc.py): all three set, the sign-in
    # page offers it. The claim (an e-mail by default) is matched to a responder's
    # `email`; the provider must have verified it (`email_verified`) when it is `email`.
    console_oidc_issuer: str | None = None
    console_oidc_client_id: str | None = None
    console_oidc_client_secret: SecretStr | None = None
    console_oidc_claim: str = Field(default="email", min_length=1, max_length=64)
    console_oidc_timeout: float = Field(default=5.0, gt=0, le=60)

    @field_validator("console_link_secret")
    @classmethod
    def _link_secret_is_long(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None or not secret.get_secret_value().strip():
            return None
        if len(secret.get_secret_value().strip()) < 32:
            raise ValueError("KLAXON_CONSOLE_LINK_SECRET must be at least 32 characters")
        return SecretStr(secret.get_secret_value().strip())

    @property
    def console_oidc_configured(self) -> bool:
        return bool(
            self.console_oidc_issuer
            and self.console_oidc_client_id
            and self.console_oidc_client_secret
        )

    # --- ChatOps, part two (app/chat/, README "Slack") ---------------------------
    # How long after its resolution an incident's own Slack channel is archived;
    # empty: never.
    slack_archive_after_minutes: int | None = Field(default=1440, ge=0)

    @field_validator("slack_archive_after_minutes", mode="before")
    @classmethod
    def _blank_archive_is_never(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def slack_archive_after(self) -> timedelta | None:
        minutes = self.slack_archive_after_minutes
        return None if minutes is None else timedelta(minutes=minutes)

    # Mattermost (app/chat/mattermost*.py, README "Mattermost"): the server's address,
    # a bot account's token (posts the cards), the main channel's id, the slash
    # commands' tokens (comma-separated: one per command) and the secret that signs
    # the cards' buttons (any long random string).
    mattermost_url: str | None = None
    mattermost_bot_token: str | None = None
    mattermost_channel: str | None = None
    mattermost_command_tokens: str = ""
    mattermost_action_secret: str | None = None
    mattermost_timeout: float = Field(default=5.0, gt=0)

    @property
    def mattermost_cards_enabled(self) -> bool:
        return bool(
            self.mattermost_url
            and self.mattermost_bot_token
            and self.mattermost_channel
            and self.mattermost_action_secret
        )

    # The console's live view across processes (app/console/live.py): each open
    # page's event stream also reads the database's change cursor (the newest
    # timeline line) this often, so a change committed by another process or
    # replica (KLAXON_WORKERS > 1) reaches it within this time; 0 turns it off
    # (each process then announces only its own commits).
    console_live_poll_seconds: float = Field(default=2.0, ge=0, le=60)


@lru_cache
def get_settings() -> Settings:
    return Settings()
