"""Logger settings, from PORTCULLIS_LOGGER_* environment variables."""

from __future__ import annotations

from portcullis.settings import ServiceSettings
from portcullis.subjects import MAX_DELIVER
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict


class LoggerSettings(ServiceSettings):
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

    http_host: str = "127.0.0.1"
    http_port: int = 8788

    # JetStream consumer tuning.
    pull_batch: int = 64
    ack_wait_s: float = 30.0
    # First redelivery delay after a failed write; doubles per delivery, capped at 60 s.
    nak_delay_s: float = 1.0
    max_deliver: int = MAX_DELIVER
    # On SIGTERM: how long writes in flight may take to finish before they are handed
    # back (nak) for redelivery.
    stop_grace_s: float = 5.0
