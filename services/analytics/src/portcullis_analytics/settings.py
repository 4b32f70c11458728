"""Analytics settings, from PORTCULLIS_ANALYTICS_* environment variables."""

from __future__ import annotations

from typing import Literal

from portcullis_worker import WorkerSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class AnalyticsSettings(WorkerSettings):
    model_config = SettingsConfigDict(env_prefix="PORTCULLIS_ANALYTICS_")

    # chdb: ClickHouse in-process, data under chdb_path (one replica only).
    # clickhouse: a ClickHouse server at clickhouse_url (replicas scale out).
    backend: Literal["chdb", "clickhouse"] = "chdb"
    chdb_path: str = ".portcullis/chdb"
    # http(s)://user:pass@host:port/db — a database in the path overrides `database`.
    clickhouse_url: SecretStr | None = None
    clickhouse_timeout_s: float = 10.0
    clickhouse_threads: int = 4
    database: str = "portcullis"

    http_port: int = 8789

    # The longest time range one graph query may cover: each bucket of it is a data
    # point of the answer (day buckets past two days), built in this process's memory.
    max_window_days: int = Field(default=366, ge=1)

    # Batching: insert when `batch_size` events are in, or after `batch_wait_s`.
    batch_size: int = 500
    batch_wait_s: float = 0.2
