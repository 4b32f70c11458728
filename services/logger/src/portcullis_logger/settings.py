"""Logger settings, from PORTCULLIS_LOGGER_* environment variables."""

from __future__ import annotations

from portcullis_worker import WorkerSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class LoggerSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="PORTCULLIS_LOGGER_")

    # S3-compatible store (MinIO, AWS S3, SeaweedFS, ...).
    s3_endpoint: str = "127.0.0.1:18333"
    s3_access_key: SecretStr = SecretStr("")
    s3_secret_key: SecretStr = SecretStr("")
    s3_secure: bool = False
    s3_bucket: str = "portcullis-logs"
    s3_region: str | None = None
    s3_connect_timeout_s: float = 3.0
    s3_read_timeout_s: float = 15.0
    # Writes in flight at once, per replica.
    s3_concurrency: int = 32

    http_port: int = 8788

    # Messages per JetStream fetch.
    pull_batch: int = 64
    # Oversized events (read from the Object Store, decision 0005) written at once, per
    # replica: each is held whole in memory, up to the gateway's MAX_LOG_BYTES.
    oversized_concurrency: int = Field(default=4, ge=1)
