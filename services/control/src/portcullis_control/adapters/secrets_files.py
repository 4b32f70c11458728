"""The two server secrets (the API-key hash secret and the master key), read from their
setting or file, or — for a single development replica — generated once into the data
folder with mode 0600 so that restarts keep them."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from portcullis_control.domain.sealing import new_master_key_text
from pydantic import SecretStr

log = logging.getLogger(__name__)


def _read_or_generate(
    value: SecretStr | None, file: Path | None, generated: Path, make: str, what: str
) -> str:
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    if file is not None:
        return file.read_text().strip()
    if not generated.exists():
        generated.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(generated, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(make)
        log.warning("generated a development %s in %s; set it for production", what, generated)
    return generated.read_text().strip()


def key_hash_secret(value: SecretStr | None, file: Path | None, data_dir: Path) -> bytes:
    text = _read_or_generate(
        value, file, data_dir / "key-hash.secret", secrets.token_urlsafe(32), "key-hash secret"
    )
    return text.encode()


def master_key_text(value: SecretStr | None, file: Path | None, data_dir: Path) -> str:
    return _read_or_generate(
        value, file, data_dir / "master.key", new_master_key_text(), "master key"
    )
