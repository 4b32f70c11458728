"""Settings of the one-machine platform runner (`make up`): every port it hands out and
where the platform keeps its data, all overridable with ``PORTCULLIS_*`` variables.

Several names deliberately equal a service's own variable (``PORTCULLIS_GATEWAY_PORT``,
``PORTCULLIS_LOGGER_HTTP_PORT``, ``PORTCULLIS_MOCK_PORT``...), so one export moves both
the runner's health check and the service itself.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PORT_FIELDS = (
    "nats_port",
    "nats_monitor_port",
    "valkey_port",
    "s3_port",
    "seaweed_master_port",
    "seaweed_volume_port",
    "seaweed_filer_port",
    "gateway_port",
    "logger_http_port",
    "analytics_http_port",
    "mock_port",
)


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTCULLIS_", extra="ignore")

    nats_port: int = 14222
    nats_monitor_port: int = 18222
    valkey_port: int = 16379
    s3_port: int = 18333
    seaweed_master_port: int = 19333
    seaweed_volume_port: int = 18080
    seaweed_filer_port: int = 18888
    gateway_port: int = 8787
    logger_http_port: int = 8788
    analytics_http_port: int = 8789
    mock_port: int = 8790
    data_dir: Path = Path(".portcullis")

    # The only keys SeaweedFS's S3 accepts (anonymous requests are refused). Unset, a
    # pair is made on the first run and kept in <data_dir>/s3-identities.json (mode
    # 0600), so the logger and anything else signing with it keep working across runs.
    s3_access_key: str = ""
    s3_secret_key: SecretStr = SecretStr("")
    s3_bucket: str = "portcullis-logs"

    # chDB's first start and SeaweedFS's first volume take a while on a 2-core machine.
    ready_timeout_s: float = 180.0
    # Graceful stop (SIGTERM) gets this long before the runner sends SIGKILL. SeaweedFS
    # needs ~15 s: its filer waits that long for the S3 gateway's metadata stream
    # (in the same process) before it forces its gRPC server down.
    stop_timeout_s: float = 20.0

    host: str = "127.0.0.1"
