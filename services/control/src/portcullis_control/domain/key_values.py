"""API key values: made once at creation, shown once, stored only as a keyed hash.

HMAC-SHA256 with a server secret rather than a plain hash: a leaked table can't be
checked offline against guessed keys without the secret too. The values are 256-bit
random, so no slow KDF is needed — there is nothing to brute-force."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Portkey's keys carry no prefix; ours do not either, so they look the same to clients.
_VALUE_BYTES = 32


def new_key_value() -> str:
    return secrets.token_urlsafe(_VALUE_BYTES)


def key_hash(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    """What the API shows of a secret after creation: its ends, never its middle."""
    if len(value) < 12:
        return "*" * len(value)
    return f"{value[:2]}{'*' * 7}{value[-2:]}"
