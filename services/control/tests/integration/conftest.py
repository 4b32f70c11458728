"""Fixtures for the control plane's integration tests: a real database per test on each
backend — a SQLite file always; the machine's PostgreSQL (127.0.0.1:5432, user postgres)
and MariaDB/MySQL (127.0.0.1:3306, root) when they answer, each on a database of its own
made and dropped here — and the app on it, served through Litestar's test client
(lifespan included: migrations and the bootstrap key run as at a real start).

A backend that does not answer makes its tests skip with the reason (``-ra`` lists it);
it never passes silently and never fails the suite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from portcullis_control.adapters.db.engine import make_engine
from portcullis_control.app import create_app
from portcullis_control.domain.sealing import new_master_key_text
from portcullis_control.settings import ControlSettings
from pydantic import SecretStr

ADMIN_KEY = "test-admin-key-0123456789abcdef"
PG = ("127.0.0.1", 5432)
MY = ("127.0.0.1", 3306)


async def _postgres_database() -> tuple[str, Callable[[], Any]]:
    import asyncpg

    name = f"pc_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(
            host=PG[0], port=PG[1], user="postgres", database="postgres", timeout=3
        )
    except Exception as exc:  # noqa: BLE001 — any failure means "not there"
        pytest.skip(f"PostgreSQL at {PG[0]}:{PG[1]} not reachable ({exc!r}); its tests did not run")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()

    async def drop() -> None:
        conn = await asyncpg.connect(host=PG[0], port=PG[1], user="postgres", database="postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    return f"postgresql+asyncpg://postgres@{PG[0]}:{PG[1]}/{name}", drop


async def _mysql_database() -> tuple[str, Callable[[], Any]]:
    import aiomysql

    name = f"pc_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = await aiomysql.connect(
            host=MY[0], port=MY[1], user="root", password="", connect_timeout=3
        )
    except Exception as exc:  # noqa: BLE001
        pytest.skip(
            f"MariaDB/MySQL at {MY[0]}:{MY[1]} not reachable ({exc!r}); its tests did not run"
        )
    async with admin.cursor() as cur:
        await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    admin.close()

    async def drop() -> None:
        conn = await aiomysql.connect(host=MY[0], port=MY[1], user="root", password="")
        async with conn.cursor() as cur:
            await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()

    return f"mysql+aiomysql://root@{MY[0]}:{MY[1]}/{name}", drop


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'control.db'}"
        return
    url, drop = await (_postgres_database() if request.param == "postgresql" else _mysql_database())
    try:
        yield url
    finally:
        await drop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> ControlSettings:
    return ControlSettings(
        database_url=SecretStr(database_url),
        data_dir=tmp_path / "data",
        bootstrap_admin_key=SecretStr(ADMIN_KEY),
        key_hash_secret=SecretStr("test-hash-secret-" + uuid.uuid4().hex),
        master_key=SecretStr(new_master_key_text()),
    )


@pytest.fixture
def dump_tables(settings: ControlSettings) -> Callable[[], Awaitable[str]]:
    """Every row of every table as one string, to search for what must not be stored."""

    async def dump() -> str:
        engine = make_engine(settings.resolved_database_url())
        try:
            async with engine.connect() as conn:
                names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
                rows = [(await conn.execute(sa.text(f"SELECT * FROM {n}"))).all() for n in names]
        finally:
            await engine.dispose()
        return repr(rows)

    return dump


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


@dataclass
class Api:
    """The test client with the admin key's header at hand, and small helpers."""

    client: AsyncTestClient

    @staticmethod
    def as_key(key: str) -> dict[str, str]:
        return {"x-portkey-api-key": key}

    @property
    def admin(self) -> dict[str, str]:
        return self.as_key(ADMIN_KEY)

    async def workspace(self, name: str) -> str:
        r = await self.client.post("/v1/admin/workspaces", json={"name": name}, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()["id"]

    async def workspace_key(self, workspace_id: str, scopes: list[str], **extra: Any) -> str:
        r = await self.client.post(
            "/v1/api-keys/workspace/service",
            json={"name": "k", "scopes": scopes, "workspace_id": workspace_id, **extra},
            headers=self.admin,
        )
        assert r.status_code == 200, r.text
        return r.json()["key"]


@pytest.fixture
async def api(settings: ControlSettings) -> AsyncIterator[Api]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield Api(client)
