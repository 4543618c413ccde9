"""Settings, read from the environment with the ``KLAXON_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "klaxon.example.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KLAXON_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./klaxon.db"
    config: Path = DEFAULT_CONFIG
    admin_token: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1, description="uvicorn worker processes")
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    token_cache_seconds: float = Field(default=10.0, ge=0)
    # What anyone who reaches the port may read (the README's Security section):
    # without a metrics token /metrics is open; with one it needs
    # ``Authorization: Bearer <it>`` (Prometheus' ``authorization``). Docs are
    # /docs, /redoc and /openapi.json.
    metrics_token: str | None = Field(default=None, min_length=1)
    docs_enabled: bool = True
    # Inbound rate limit per ingest token, a token bucket in each process (every
    # replica limits on its own). Generous: a storm is deduped, not turned away.
    ingest_rate: float = Field(default=200.0, gt=0, description="requests per second per token")
    ingest_burst: int = Field(default=2000, gt=0, description="requests allowed at once")
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
    public_url: str = "http://127.0.0.1:8080"  # the address Twilio calls back

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
    # Per destination number, as carriers block numbers that call too often.
    throttle_window_minutes: float = Field(default=15, gt=0)
    throttle_sms: int = Field(default=5, gt=0)
    throttle_calls: int = Field(default=3, gt=0)
    send_attempts: int = Field(default=5, gt=0)
    # Drills only: several processes share a clock that a test moves forward by
    # writing an offset in seconds to this file. Unset in production.
    clock_offset_file: Path | None = None

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
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
