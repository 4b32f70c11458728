"""Envelope encryption: a sealed value opens only with its data key and its row's
context; a wrapped data key only with its master key; rotation keeps values readable."""

from __future__ import annotations

import pytest
from portcullis_control.domain.sealing import (
    LocalKeyWrapper,
    SealError,
    new_data_key,
    new_master_key_text,
    open_sealed,
    parse_master_key,
    rewrap,
    seal,
)


def test_seal_round_trip_and_no_plaintext() -> None:
    key = new_data_key()
    sealed = seal(key, b"sk-secret-value", b"ws/vk")
    assert b"sk-secret-value" not in sealed
    assert open_sealed(key, sealed, b"ws/vk") == b"sk-secret-value"
    # A fresh nonce each time: the same secret never seals to the same bytes.
    assert seal(key, b"sk-secret-value", b"ws/vk") != sealed


@pytest.mark.parametrize("mutate", ["context", "key", "tamper", "short"])
def test_sealed_value_does_not_open_otherwise(mutate: str) -> None:
    key = new_data_key()
    sealed = seal(key, b"secret", b"ws/vk")
    with pytest.raises(SealError):
        if mutate == "context":
            open_sealed(key, sealed, b"ws/other")
        elif mutate == "key":
            open_sealed(new_data_key(), sealed, b"ws/vk")
        elif mutate == "tamper":
            open_sealed(key, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"ws/vk")
        else:
            open_sealed(key, sealed[:10], b"ws/vk")


def test_rotation_rewraps_the_data_key() -> None:
    old = LocalKeyWrapper(parse_master_key(new_master_key_text()))
    new = LocalKeyWrapper(parse_master_key(new_master_key_text()))
    data_key = new_data_key()
    wrapped = old.wrap(data_key)
    moved = rewrap(old, new, wrapped)
    assert new.unwrap(moved) == data_key
    with pytest.raises(SealError):
        old.unwrap(moved)
    assert old.key_id != new.key_id and old.key_id.startswith("local:")


@pytest.mark.parametrize("text", ["", "not base64 !!", "c2hvcnQ="])
def test_bad_master_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_master_key(text)
