"""Applies the numbered migrations in ``portcullis.clickhouse.migrations`` idempotently.

A ``schema_migrations`` table records each applied version with a checksum of its DDL, so
a migration can tell whether it has run. Every replica may run this at start: the DDL is
``IF NOT EXISTS`` and the bookkeeping table collapses duplicate rows (ReplacingMergeTree).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass

from portcullis.clickhouse import migrations as _migrations_pkg
from portcullis.clickhouse.sessions import SqlSession, quote_identifier

log = logging.getLogger(__name__)

_MODULE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[str], list[str]]

    def checksum(self) -> str:
        # Over the DDL with a placeholder database, so it is the same for every database.
        text = "\n;\n".join(s.strip() for s in self.statements("`db`"))
        return hashlib.sha256(text.encode()).hexdigest()

    def has_run(self, session: SqlSession, database: str) -> bool:
        return self.version in applied_versions(session, database)


def load_migrations() -> list[Migration]:
    """Every ``NNNN_name`` module of the migrations package, in version order."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(_migrations_pkg.__path__):
        match = _MODULE_NAME.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{_migrations_pkg.__name__}.{info.name}")
        if module.VERSION != int(match.group(1)):
            raise RuntimeError(f"migration {info.name} declares VERSION {module.VERSION}")
        found.append(Migration(module.VERSION, module.NAME, module.statements))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return found


def _bookkeeping_ddl(db: str) -> list[str]:
    return [
        f"CREATE DATABASE IF NOT EXISTS {db}",
        f"""
CREATE TABLE IF NOT EXISTS {db}.schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
""",
    ]


def applied_versions(session: SqlSession, database: str) -> dict[int, str]:
    """Applied version -> recorded checksum (empty if the bookkeeping table is missing)."""
    db = quote_identifier(database)
    exists = session.select(
        "SELECT count() AS n FROM system.tables WHERE database = {db:String} "
        "AND name = 'schema_migrations'",
        {"db": database},
    )
    if not exists or not exists[0]["n"]:
        return {}
    rows = session.select(
        f"SELECT version, checksum FROM {db}.schema_migrations FINAL ORDER BY version"
    )
    return {int(r["version"]): str(r["checksum"]) for r in rows}


def apply_migrations(
    session: SqlSession, database: str, migrations: list[Migration] | None = None
) -> list[int]:
    """Apply the migrations that have not run yet; return the versions applied now."""
    db = quote_identifier(database)
    for ddl in _bookkeeping_ddl(db):
        session.execute(ddl)
    migrations = load_migrations() if migrations is None else migrations
    applied = applied_versions(session, database)
    done: list[int] = []
    for migration in migrations:
        recorded = applied.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum():
                # Shipped migrations are immutable; a changed one is a bug to look at, but
                # re-running it could not undo what the first version did.
                log.warning(
                    "applied migration changed since it ran",
                    extra={"version": migration.version, "migration": migration.name},
                )
            continue
        for statement in migration.statements(db):
            session.execute(statement)
        session.execute(
            f"INSERT INTO {db}.schema_migrations (version, name, checksum) "
            "SELECT {version:UInt32}, {name:String}, {checksum:String}",
            {
                "version": migration.version,
                "name": migration.name,
                "checksum": migration.checksum(),
            },
        )
        log.info(
            "applied migration", extra={"version": migration.version, "migration": migration.name}
        )
        done.append(migration.version)
    return done
