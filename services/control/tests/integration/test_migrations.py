"""Alembic's migrations on each backend: they make every table, and running them again
(a restart, a second replica) changes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from portcullis_control.adapters.db.engine import make_engine, migrate
from portcullis_control.adapters.db.tables import metadata


async def test_migrations_make_every_table_and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
        assert set(metadata.tables) <= names
        assert version == [("0001",)]
    finally:
        await engine.dispose()
