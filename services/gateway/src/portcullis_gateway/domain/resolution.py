"""From the caller's headers to the upstream call: which provider, which URL, which
credential, and the request's metadata. Pure; errors are ``GatewayError``s.

Inputs follow Portkey's contract: ``x-portkey-provider``, ``x-portkey-custom-host``,
``x-portkey-request-timeout`` (ms), ``x-portkey-metadata`` and an inline
``x-portkey-config`` object with the same fields (``provider``, ``api_key``,
``custom_host``, ``request_timeout``); the config wins over the single headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.host_policy import HostPolicy
from portcullis_gateway.providers.base import ProviderSpec

PORTKEY_PREFIX = b"x-portkey-"
# Not forwarded upstream: hop-by-hop headers, the ones the client library recomputes,
# cookies (never meant for the provider) and trace context (the gateway's span is the
# parent now). Authorization is handled on its own.
_NOT_FORWARDED = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        b"content-type",  # the body is JSON (checked); set explicitly
        b"accept-encoding",
        b"expect",
        b"cookie",
        b"traceparent",
        b"tracestate",
        b"authorization",
    }
)
_decode_json = msgspec.json.decode


@dataclass(slots=True)
class Inbound:
    """The request headers, split once: Portkey's, the credential, what goes upstream."""

    portkey: dict[str, str]
    authorization: str | None
    content_length: int | None
    forward: list[tuple[str, str]]
    traceparent: str | None


def scan_headers(raw: list[tuple[bytes, bytes]]) -> Inbound:
    portkey: dict[str, str] = {}
    forward: list[tuple[str, str]] = []
    authorization = traceparent = None
    content_length = None
    for name, value in raw:
        if name.startswith(PORTKEY_PREFIX):
            portkey[name.decode("latin-1")] = value.decode("latin-1")
        elif name not in _NOT_FORWARDED:
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
        elif name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-length":
            content_length = int(value) if value.isdigit() else None
        elif name == b"traceparent":
            traceparent = value.decode("latin-1")
    return Inbound(portkey, authorization, content_length, forward, traceparent)


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    base_url: str
    # (header name, value) carrying the credential, or None to send none.
    credential: tuple[str, str] | None
    custom_host: bool
    timeout_s: float | None
    prices_id: str | None


class InlineConfig(msgspec.Struct, kw_only=True):
    provider: str | None = None
    api_key: str | None = None
    custom_host: str | None = None
    request_timeout: float | None = None  # milliseconds, as in Portkey's config
    # Routing and key features that arrive with later issues; refused, not ignored.
    targets: list | None = None
    strategy: dict | None = None
    virtual_key: str | None = None


_config_from_obj = msgspec.convert


def parse_config(value: str) -> InlineConfig:
    text = value.strip()
    try:
        raw = _decode_json(text)
    except msgspec.DecodeError:
        if text and not text.startswith(("{", "[", '"')):
            raise InvalidRequest(
                "x-portkey-config looks like a saved config id; saved configs are not "
                "available yet (they arrive with the control plane): send the config as a "
                "JSON object",
                code="saved_config_unavailable",
            ) from None
        raise InvalidRequest("x-portkey-config is not valid JSON", code="invalid_config") from None
    if not isinstance(raw, dict):
        raise InvalidRequest("x-portkey-config must be a JSON object", code="invalid_config")
    try:
        config = _config_from_obj(raw, InlineConfig)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"x-portkey-config: {exc}", code="invalid_config") from None
    if config.targets is not None or config.strategy is not None:
        raise InvalidRequest(
            "config routing (strategy/targets) is not available yet: give a single "
            "provider in the config",
            code="config_not_supported",
        )
    if config.virtual_key is not None:
        raise InvalidRequest(
            "virtual keys are not available yet: give provider and api_key",
            code="virtual_key_unavailable",
        )
    return config


def _timeout_s(header: str | None, config_ms: float | None) -> float | None:
    if config_ms is not None:
        if config_ms <= 0:
            raise InvalidRequest("config request_timeout must be a positive number of ms")
        return config_ms / 1000
    if header is None:
        return None
    try:
        ms = float(header)
    except ValueError:
        ms = -1
    if ms <= 0:
        raise InvalidRequest(
            "x-portkey-request-timeout must be a positive number of milliseconds",
            code="invalid_request_timeout",
        )
    return ms / 1000


def resolve_target(
    portkey: Mapping[str, str],
    authorization: str | None,
    policy: HostPolicy,
    providers: Mapping[str, ProviderSpec],
) -> Target:
    config_header = portkey.get("x-portkey-config")
    config = parse_config(config_header) if config_header is not None else InlineConfig()
    if "x-portkey-virtual-key" in portkey and config_header is None:
        raise InvalidRequest(
            "virtual keys are not available yet: give x-portkey-provider and Authorization",
            code="virtual_key_unavailable",
        )
    provider = config.provider or portkey.get("x-portkey-provider")
    custom_host = config.custom_host or portkey.get("x-portkey-custom-host")
    if not provider and not custom_host:
        raise InvalidRequest(
            "no provider given: send x-portkey-provider (e.g. openai), "
            "x-portkey-custom-host or an x-portkey-config with provider",
            code="missing_provider",
        )
    # A custom host alone means an OpenAI-compatible server.
    name = (provider or "openai").strip().lower()
    spec = providers.get(name)
    if spec is None:
        raise InvalidRequest(
            f"unknown provider {name!r}; known: {', '.join(sorted(providers))}",
            code="unknown_provider",
        )
    base_url = policy.check(custom_host) if custom_host else spec.base_url
    if config.api_key:
        credential: tuple[str, str] | None = (spec.auth_header, spec.authorization(config.api_key))
    elif authorization:
        credential = (spec.auth_header, authorization)
    else:
        credential = None
    return Target(
        provider=name,
        base_url=base_url,
        credential=credential,
        custom_host=bool(custom_host),
        timeout_s=_timeout_s(portkey.get("x-portkey-request-timeout"), config.request_timeout),
        prices_id=spec.prices_id,
    )


def parse_metadata(value: str | None) -> tuple[dict[str, str], str | None]:
    """``x-portkey-metadata``: a JSON object of strings; ``_user`` names the end user."""
    if value is None:
        return {}, None
    try:
        raw = _decode_json(value)
    except msgspec.DecodeError:
        raise InvalidRequest(
            "x-portkey-metadata is not valid JSON", code="invalid_metadata"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidRequest("x-portkey-metadata must be a JSON object", code="invalid_metadata")
    for key, item in raw.items():
        if not isinstance(item, str):
            raise InvalidRequest(
                f"x-portkey-metadata values must be strings ({key!r} is not)",
                code="invalid_metadata",
            )
    return raw, raw.get("_user")
