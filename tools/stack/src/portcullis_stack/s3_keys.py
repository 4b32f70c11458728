"""The S3 store's access keys: made once, kept in SeaweedFS's own identities file (the
one ``weed server -s3.config`` reads), so the store refuses anonymous requests and
whoever signs with the keys (the logger, the runner's provisioning, tests) gets in.

The file holds the secret, so it is written with mode 0600 and only its path is ever
printed; ``S3Keys`` keeps the secret in a ``SecretStr`` so a stray repr shows stars.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

# Everything the logger and the runner do: create the bucket, put, get, list.
_ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]
IDENTITY_NAME = "portcullis"


@dataclass(frozen=True)
class S3Keys:
    access_key: str
    secret_key: SecretStr

    @classmethod
    def generate(cls) -> S3Keys:
        # AWS-shaped: a 20-character upper-case key id and a 40-character secret.
        return cls(
            access_key="PK" + secrets.token_hex(9).upper(),
            secret_key=SecretStr(secrets.token_urlsafe(30)),
        )


def identities_document(keys: S3Keys) -> dict:
    return {
        "identities": [
            {
                "name": IDENTITY_NAME,
                "credentials": [
                    {
                        "accessKey": keys.access_key,
                        "secretKey": keys.secret_key.get_secret_value(),
                    }
                ],
                "actions": _ACTIONS,
            }
        ]
    }


def write_identities(path: Path, keys: S3Keys) -> Path:
    """Write the identities file, readable by its owner only. Written beside and renamed
    into place, so a reader never sees half a file and the mode holds from the first
    byte (a chmod after the write would leave a moment when others could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # A file left by a crash keeps its old mode; O_EXCL makes a new one with ours.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(identities_document(keys), f, indent=2)
    os.replace(tmp, path)
    return path


def read_identities(path: Path) -> S3Keys:
    credential = json.loads(path.read_text())["identities"][0]["credentials"][0]
    return S3Keys(credential["accessKey"], SecretStr(credential["secretKey"]))


def keys_for(path: Path, access_key: str, secret_key: SecretStr) -> S3Keys:
    """The keys `make up` runs with: the configured pair when both are set, else those
    kept in ``path`` by an earlier run, else a new pair. Whichever it is, ``path`` then
    holds it, so SeaweedFS accepts exactly these keys."""
    if access_key and secret_key.get_secret_value():
        keys = S3Keys(access_key, secret_key)
    elif access_key or secret_key.get_secret_value():
        raise ValueError(
            "set both PORTCULLIS_S3_ACCESS_KEY and PORTCULLIS_S3_SECRET_KEY, or neither "
            f"(then the keys kept in {path} are used, made on the first run)"
        )
    elif path.exists():
        keys = read_identities(path)
    else:
        keys = S3Keys.generate()
    write_identities(path, keys)
    return keys
