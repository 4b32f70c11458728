"""Blocking SQL sessions on ClickHouse: the in-process chDB engine or a ClickHouse server
through clickhouse-connect, behind one small interface so the same DDL and queries run on
both. Callers own the threading: these calls block and must stay off the event loop."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import msgspec

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# Query parameters are scalars only (``{name:Type}`` placeholders), which keeps their
# text form identical on chDB and on a server and rules out injection by construction.
Param = str | int | float | bool

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_decode_row = msgspec.json.Decoder(dict[str, Any]).decode


class SqlSession(Protocol):
    """What the migrations and the analytics store need from ClickHouse."""

    def execute(self, sql: str, params: Mapping[str, Param] | None = None) -> None: ...

    def select(self, sql: str, params: Mapping[str, Param] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts; select plain numbers and strings so both engines agree on types."""
        ...

    def insert_json_rows(self, table: str, payload: bytes) -> None:
        """Insert newline-separated JSON objects (ClickHouse's JSONEachRow format)."""
        ...

    def close(self) -> None: ...


def quote_identifier(name: str) -> str:
    """A database or table name, validated, in backticks. Identifiers cannot be bound as
    parameters, so anything but a plain identifier is refused."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"invalid ClickHouse identifier {name!r}")
    return f"`{name}`"


def chdb_param_text(value: Param) -> str:
    """A parameter value in the escaped text form ClickHouse parses ``{name:Type}`` from.

    clickhouse-connect does this itself for the server; chDB takes the text as is, so a tab,
    newline or backslash in a string has to be escaped here (TabSeparated escaping).
    """
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class ChdbSession:
    """chDB (ClickHouse in-process) on a data directory. chDB allows one engine per process
    and is not safe to drive from several threads at once: the owner serialises calls."""

    def __init__(self, path: str) -> None:
        from chdb.session import Session

        self._session = Session(path)

    def _query(self, sql: str, params: Mapping[str, Param] | None, fmt: str = "CSV") -> Any:
        text_params = {k: chdb_param_text(v) for k, v in (params or {}).items()}
        return self._session.query(sql, fmt=fmt, params=text_params or None)

    def execute(self, sql: str, params: Mapping[str, Param] | None = None) -> None:
        self._query(sql, params)

    def select(self, sql: str, params: Mapping[str, Param] | None = None) -> list[dict[str, Any]]:
        result = self._query(sql, params, fmt="JSONEachRow")
        return [_decode_row(line) for line in result.bytes().splitlines() if line]

    def insert_json_rows(self, table: str, payload: bytes) -> None:
        # The rows follow the FORMAT clause as data, not SQL: JSON string escaping is all
        # the quoting they need.
        self._session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n" + payload.decode())

    def close(self) -> None:
        self._session.close()


class ClickHouseConnectSession:
    """A ClickHouse server through a clickhouse-connect client (HTTP). The client pools
    connections and may be shared by threads when session ids are not auto-generated."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def execute(self, sql: str, params: Mapping[str, Param] | None = None) -> None:
        self._client.command(sql, parameters=dict(params or {}))

    def select(self, sql: str, params: Mapping[str, Param] | None = None) -> list[dict[str, Any]]:
        return list(self._client.query(sql, parameters=dict(params or {})).named_results())

    def insert_json_rows(self, table: str, payload: bytes) -> None:
        self._client.raw_insert(table, None, payload, fmt="JSONEachRow")

    def close(self) -> None:
        self._client.close()


class ClickHouseTarget(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    username: str
    password: str
    secure: bool
    database: str | None = None

    def __repr__(self) -> str:  # never print the password
        return f"ClickHouseTarget(host={self.host!r}, port={self.port}, database={self.database!r})"


def parse_clickhouse_url(url: str) -> ClickHouseTarget:
    """``http(s)://user:pass@host:port/db`` -> connection parts. The path, when present,
    names the database; the port defaults to 8123 (http) or 8443 (https)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("ClickHouse URL must look like http(s)://user:pass@host:port/db")
    secure = parts.scheme == "https"
    database = parts.path.strip("/") or None
    if database is not None:
        quote_identifier(database)
    return ClickHouseTarget(
        host=parts.hostname,
        port=parts.port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        secure=secure,
        database=database,
    )


def connect_clickhouse(
    target: ClickHouseTarget, timeout_s: float = 10.0
) -> ClickHouseConnectSession:
    """A session on a ClickHouse server. No default database is set on the client: every
    statement names its database, and the database may not exist before the migrations."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        secure=target.secure,
        # Concurrent queries from a thread pool are refused on a shared session id.
        autogenerate_session_id=False,
        connect_timeout=timeout_s,
        send_receive_timeout=max(timeout_s, 30.0),
    )
    return ClickHouseConnectSession(client)
