"""The database engine and Alembic's upgrade at start, on whichever backend the URL
names. ``migrate`` is idempotent: at head it does nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time on SQLite; waiting beats "database is locked".
        engine = create_async_engine(url, connect_args={"timeout": 30})
        # SQLite checks foreign keys only when asked, per connection; the other
        # backends always do, and the code must not rely on their absence.
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys)
        return engine
    # pool_pre_ping: a connection the server closed meanwhile is replaced, not failed.
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=1800)


def _sqlite_foreign_keys(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
