"""ClickHouse schema and sessions shared by the services that own or read the metrics
store (analytics writes it; exports reads it): numbered migrations applied idempotently,
and one blocking session interface over chDB and a ClickHouse server."""

from portcullis.clickhouse.migrator import (
    Migration,
    applied_versions,
    apply_migrations,
    load_migrations,
)
from portcullis.clickhouse.sessions import (
    ChdbSession,
    ClickHouseConnectSession,
    ClickHouseTarget,
    Param,
    SqlSession,
    chdb_param_text,
    connect_clickhouse,
    parse_clickhouse_url,
    quote_identifier,
)

__all__ = [
    "ChdbSession",
    "ClickHouseConnectSession",
    "ClickHouseTarget",
    "Migration",
    "Param",
    "SqlSession",
    "applied_versions",
    "apply_migrations",
    "chdb_param_text",
    "connect_clickhouse",
    "load_migrations",
    "parse_clickhouse_url",
    "quote_identifier",
]
