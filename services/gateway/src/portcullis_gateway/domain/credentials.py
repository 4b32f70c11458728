"""Which headers and config fields are credentials, read once at import time from where
they are declared — the caller's headers (``resolution.CALLER_CREDENTIAL_HEADERS``),
each provider's key header and secret options (``ProviderSpec.auth_header``,
``Option(secret=True)``), the config's secret fields (``routing.config.Secret``) — and
the collection of one request's own credential values, for masking by value.

Collecting costs a few dict lookups per request: the values are picked from headers the
scan already split, and a config's are read from its parsed (cached) tree.
"""

from __future__ import annotations

from collections.abc import Mapping

from portcullis_gateway.domain import secret_values
from portcullis_gateway.domain.errors import GatewayError
from portcullis_gateway.domain.resolution import (
    CALLER_CREDENTIAL_HEADERS,
    Inbound,
    parse_config,
)
from portcullis_gateway.providers import PROVIDERS, ProviderSpec
from portcullis_gateway.routing.config import SECRET_FIELDS

PORTKEY_PREFIX = "x-portkey-"


def specs(providers: Mapping[str, ProviderSpec]) -> tuple[ProviderSpec, ...]:
    """Each registered spec once (aliases name the same spec)."""
    return tuple({id(spec): spec for spec in providers.values()}.values())


def secret_options(providers: Mapping[str, ProviderSpec]) -> dict[str, tuple[str, ...]]:
    """Option name -> declared parts, for every option some provider declares secret."""
    return {
        option.name: option.parts
        for spec in specs(providers)
        for option in spec.options
        if option.secret
    }


SECRET_OPTIONS = secret_options(PROVIDERS)
# x-portkey-* credential headers -> parts: the secret options, and Portkey's own key.
_PORTKEY_SECRETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((name, ()) for name in CALLER_CREDENTIAL_HEADERS if name.startswith(PORTKEY_PREFIX)),
    *((PORTKEY_PREFIX + name, parts) for name, parts in SECRET_OPTIONS.items()),
)
# Request headers that are credentials: never stored.
SECRET_HEADERS: frozenset[str] = frozenset(
    {
        *CALLER_CREDENTIAL_HEADERS,
        *(spec.auth_header for spec in specs(PROVIDERS)),
        *(name for name, _ in _PORTKEY_SECRETS),
    }
)
# Config target fields that are credentials: masked in the stored config, at any depth.
SECRET_CONFIG_FIELDS: frozenset[str] = frozenset(SECRET_FIELDS)


def request_credentials(inbound: Inbound, providers: Mapping[str, ProviderSpec]) -> list[str]:
    """The credential values one request carries, in its headers and its inline config."""
    values: list[str] = []
    authorization = inbound.authorization
    if authorization:
        _, _, token = authorization.partition(" ")
        secret_values.add(values, token.strip() or authorization)
    secret_values.add(values, inbound.x_api_key)
    portkey = inbound.portkey
    for name, parts in _PORTKEY_SECRETS:
        value = portkey.get(name)
        if value:
            values.extend(secret_values.values_of(value, parts))
    config = portkey.get("x-portkey-config")
    if config is not None:
        try:
            # The same cached parse resolve_target makes: no second decode.
            values.extend(parse_config(config, providers).secrets)
        except GatewayError:
            pass  # refused by resolve_target; the stored config is masked by field name
    return values
