"""Throwaway credentials for tests: a fresh RSA private key as PEM (PKCS#8), the form a
Google service-account key file holds, which google-auth signs its token requests with
(the mock provider's token endpoint takes any)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
