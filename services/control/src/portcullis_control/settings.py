"""Control-plane settings, from PORTCULLIS_CONTROL_* environment variables."""

from __future__ import annotations

from pathlib import Path

from portcullis.settings import ServiceSettings
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict


class ControlSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PORTCULLIS_CONTROL_")

    host: str = "127.0.0.1"
    port: int = 8780
    # Where the SQLite file and the generated development secrets live.
    data_dir: Path = Path(".portcullis/control")
    # SQLAlchemy async URL: sqlite+aiosqlite:///path, postgresql+asyncpg://u:p@h/db,
    # mysql+aiomysql://u:p@h/db. Empty: a SQLite file in data_dir.
    database_url: SecretStr = SecretStr("")
    # The one organisation this control plane serves (every row carries its id).
    organisation_id: str = "00000000-0000-4000-8000-000000000001"
    # An organisation admin key with this value exists after start (idempotent).
    bootstrap_admin_key: SecretStr | None = None
    # The secret of the keyed hash of API keys (any string, 32+ random bytes advised),
    # or a file holding it. Neither set: generated once into data_dir (one replica only).
    key_hash_secret: SecretStr | None = None
    key_hash_secret_file: Path | None = None
    # The master key wrapping the workspaces' data keys: base64 of 32 random bytes, or a
    # file holding it. Neither set: generated once into data_dir (one replica only).
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # Largest request body accepted (a config is the biggest thing sent); 413 beyond.
    max_body_bytes: int = 1_048_576
    # Page size of list routes when the caller gives none, and the most it may ask for.
    default_page_size: int = 50
    max_page_size: int = 500

    def resolved_database_url(self) -> str:
        url = self.database_url.get_secret_value()
        return url or f"sqlite+aiosqlite:///{self.data_dir / 'control.db'}"
