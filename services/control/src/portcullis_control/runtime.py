"""What the routes share, built once per process: the engine, the key-hash secret, the
master key's wrapper. ``start`` migrates the database and makes the bootstrap key."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from portcullis_control.adapters.db import api_keys
from portcullis_control.adapters.db.engine import make_engine, migrate
from portcullis_control.adapters.secrets_files import key_hash_secret, master_key_text
from portcullis_control.domain.scopes import ALL_SCOPES
from portcullis_control.domain.sealing import KeyWrapper, LocalKeyWrapper, parse_master_key
from portcullis_control.settings import ControlSettings

log = logging.getLogger(__name__)


def master_key_wrapper(settings: ControlSettings) -> KeyWrapper:
    text = master_key_text(settings.master_key, settings.master_key_file, settings.data_dir)
    return LocalKeyWrapper(parse_master_key(text))


class Runtime:
    def __init__(self, settings: ControlSettings) -> None:
        self.settings = settings
        self.engine: AsyncEngine = make_engine(settings.resolved_database_url())
        self.hash_secret = key_hash_secret(
            settings.key_hash_secret, settings.key_hash_secret_file, settings.data_dir
        )
        self.wrapper = master_key_wrapper(settings)

    async def start(self) -> None:
        await migrate(self.engine)
        bootstrap = self.settings.bootstrap_admin_key
        if bootstrap is not None and bootstrap.get_secret_value():
            async with self.engine.begin() as conn:
                made = await api_keys.ensure_bootstrap(
                    conn,
                    self.hash_secret,
                    self.settings.organisation_id,
                    bootstrap.get_secret_value(),
                    sorted(ALL_SCOPES),
                )
            log.info("bootstrap admin key %s", "created" if made else "already present")

    async def stop(self) -> None:
        await self.engine.dispose()
