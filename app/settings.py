"""Settings, read from the environment with the ``KLAXON_`` prefix."""

from __future__ import annotations

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

    # The escalation engine.
    engine_enabled: bool = True
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

    # The console's live view across processes (app/console/live.py): each open
    # page's event stream also reads the database's change cursor (the newest
    # timeline line) this often, so a change committed by another process or
    # replica (KLAXON_WORKERS > 1) reaches it within this time; 0 turns it off
    # (each process then announces only its own commits).
    console_live_poll_seconds: float = Field(default=2.0, ge=0, le=60)


@lru_cache
def get_settings() -> Settings:
    return Settings()
