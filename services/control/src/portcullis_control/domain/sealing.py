"""Envelope encryption of provider secrets (AES-256-GCM from ``cryptography``).

Each workspace has its own data key; a secret is sealed with it, bound (as associated
data) to the row it belongs to, so a ciphertext copied onto another row does not open.
The data keys are stored wrapped by a master key behind ``KeyWrapper``, where a KMS
(AWS KMS, Vault transit) can stand in for the local key. Rotating the master key
re-wraps the data keys only; no secret is re-encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12
# Format byte in front of every sealed value, so the layout can change later.
_V1 = b"\x01"
_WRAP_AAD = b"portcullis-control/data-key"


class SealError(Exception):
    """A value does not open with this key: wrong key, wrong row, or tampered."""


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys. ``key_id`` names the master key, stored beside each
    wrapped key so a mismatch is reported as such rather than as a corrupt value."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class LocalKeyWrapper:
    """A 256-bit master key held in the process (from a setting or a file)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(master_key)
        # A fingerprint, not the key: sha256 of 256 random bits reveals nothing usable.
        self._key_id = "local:" + hashlib.sha256(master_key).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes) -> bytes:
        return _seal(self._aead, data_key, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        return _open(self._aead, wrapped, _WRAP_AAD)


def parse_master_key(text: str) -> bytes:
    """A master key as operators write it: base64 (standard or URL-safe) of 32 bytes."""
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_"))
    except ValueError as exc:
        raise ValueError("the master key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError("the master key must be base64 of exactly 32 bytes")
    return raw


def new_master_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(data_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    return _seal(AESGCM(data_key), plaintext, context)


def open_sealed(data_key: bytes, sealed: bytes, context: bytes) -> bytes:
    return _open(AESGCM(data_key), sealed, context)


def rewrap(old: KeyWrapper, new: KeyWrapper, wrapped: bytes) -> bytes:
    """One data key moved from the old master key to the new one."""
    return new.wrap(old.unwrap(wrapped))


def _seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _V1 + nonce + aead.encrypt(nonce, plaintext, aad)


def _open(aead: AESGCM, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _V1:
        raise SealError("not a sealed value")
    nonce = sealed[1 : 1 + _NONCE]
    try:
        return aead.decrypt(nonce, sealed[1 + _NONCE :], aad)
    except InvalidTag as exc:
        raise SealError("the value does not open with this key and context") from exc
