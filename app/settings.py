"""The product's one configuration object, read from the environment (prefix CAREROUNDS_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.tolerances import AuditTolerances

PLACEHOLDER_SECRET = "change-me"


class AuditSettings(BaseModel):
    """Audit tolerances (defaults and sources in data.tolerances) and the travel estimate.

    ``CAREROUNDS_AUDIT__TOLERANCES__SHORT_CALL_RATIO=0.8`` sets one tolerance.
    """

    tolerances: AuditTolerances = Field(default_factory=AuditTolerances)
    # Straight-line travel estimate until a road network is configured.
    travel_circuity: float = 1.3
    travel_speed_m_per_s: float = 13.4


class ApiSettings(BaseModel):
    """The service's limits, tokens and job worker (owned by the API; see docs/api.md)."""

    max_upload_bytes: int = 256 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    token_ttl_days: int = 90
    # Jobs: a running job whose heartbeat is older than job_stale_after_s lost its worker.
    job_heartbeat_s: float = 2.0
    job_stale_after_s: float = 30.0
    job_poll_s: float = 1.0
    job_default_time_limit_s: int = 600
    job_max_time_limit_s: int = 3600
    job_max_attempts: int = 2
    # Workers the serve command starts beside the web server (0: none; run `carerounds worker`).
    serve_workers: int = 1
    # Map tiles for the web page, e.g. an internal tile server; None draws points only (offline).
    map_tile_url: str | None = None


class Settings(BaseSettings):
    """Configuration for the CLI, the API and the jobs.

    Environment variables use the prefix ``CAREROUNDS_`` and ``__`` for nesting, e.g.
    ``CAREROUNDS_DATABASE_URL`` or ``CAREROUNDS_AUDIT__SHORT_CALL_RATIO=0.8``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CAREROUNDS_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/carerounds.sqlite"
    work_dir: Path = Path("var")
    secret_key: str = PLACEHOLDER_SECRET
    road_network_path: Path | None = None
    audit: AuditSettings = Field(default_factory=AuditSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError(
                "CAREROUNDS_SECRET_KEY is still the placeholder; set a real secret in production."
            )
        return self

    @property
    def reports_dir(self) -> Path:
        return self.work_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
