"""Request headers as they may be stored: credentials removed, secrets inside an inline
config masked, credentials inside a custom host URL stripped.

What is a credential comes from the declarations (``domain.credentials``: the caller's
key headers, each provider's key header and secret options, the config's secret
fields). Names that merely look secret (``x-portkey-foo-token``, a config key
``password``) are masked too, as a belt for what nobody declared.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit, urlunsplit

import msgspec

from portcullis_gateway.domain.credentials import SECRET_CONFIG_FIELDS, SECRET_HEADERS
from portcullis_gateway.domain.json_input import nests_too_deep
from portcullis_gateway.domain.secret_values import MASK

REDACTED = MASK
# Declared credentials, and what is never meant for storage though the gateway does
# not read it (the caller's proxy credentials and cookies).
_SECRET_HEADERS = SECRET_HEADERS | {"proxy-authorization", "cookie", "set-cookie"}
_SECRET_WORDS = (
    "api-key",
    "api_key",
    "apikey",
    "secret",
    "token",
    "password",
    "credential",
    "auth",
    "private",
    "bearer",
)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.decode


_secret_names: dict[str, bool] = {}


def is_secret_name(name: str) -> bool:
    known = _secret_names.get(name)
    if known is None:
        lowered = name.lower()
        known = lowered in _SECRET_HEADERS or any(word in lowered for word in _SECRET_WORDS)
        if len(_secret_names) < 4096:  # header names repeat; bound it against abuse
            _secret_names[name] = known
    return known


def _mask(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: REDACTED if k in SECRET_CONFIG_FIELDS or is_secret_name(k) else _mask(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


# Apps send the same config and custom host on every request: masked once per value.
@functools.lru_cache(maxsize=512)
def redact_config(value: str) -> str:
    text = value.strip()
    if not text.startswith(("{", "[")):
        return value  # a saved-config id, not a secret
    if nests_too_deep(text):
        return REDACTED  # refused with a 400; masking it would recurse past the limit
    try:
        return _encode(_mask(_decode(text))).decode()
    except (msgspec.DecodeError, RecursionError):
        # It may still hold a key; an unparseable config is not worth the risk. Nor is
        # one nested too deep to walk (refused with a 400; its log must still be built).
        return REDACTED


@functools.lru_cache(maxsize=512)
def strip_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return REDACTED


def redact_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        if is_secret_name(name):
            continue
        value = value_bytes.decode("latin-1")
        if name == "x-portkey-config":
            value = redact_config(value)
        elif name == "x-portkey-custom-host":
            value = strip_userinfo(value)
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out
