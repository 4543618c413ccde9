"""Settings, read from the environment with the ``KLAXON_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
