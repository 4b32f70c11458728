"""From the caller's headers to the upstream call: which provider, which URL, which
credential, and the request's metadata. Pure; errors are ``GatewayError``s.

Inputs follow Portkey's contract: ``x-portkey-provider``, ``x-portkey-custom-host``,
``x-portkey-request-timeout`` (ms), ``x-portkey-metadata`` and an inline
``x-portkey-config`` (the Gateway Config Object, parsed by ``routing``); the config wins
over the single headers. A config with one target and nothing to retry takes the same
single-call path as the headers; anything else goes to the routing engine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from portcullis_gateway.domain.errors import InvalidRequest
from portcullis_gateway.domain.host_policy import HostPolicy
from portcullis_gateway.domain.json_input import check_depth, nests_too_deep, too_deep
from portcullis_gateway.providers.base import ProviderSpec
from portcullis_gateway.routing import ROOT_PATH, ConfigError, Leaf, Node
from portcullis_gateway.routing import parse_config as parse_routing_config

PORTKEY_PREFIX = b"x-portkey-"
# The caller's credential headers (declared secret here, where they are read): never
# stored, their values masked wherever they show up again. Authorization carries the
# provider's key; x-api-key is the Anthropic SDK's way to send it (routes/messages);
# x-portkey-api-key is Portkey's own key, which this gateway does not use but must not
# keep either.
CALLER_CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-portkey-api-key")
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
    # The Anthropic SDK's key header, noted as the scan passes it (it is forwarded as
    # it came on the OpenAI routes, and is the key on /v1/messages).
    x_api_key: str | None = None


def scan_headers(raw: list[tuple[bytes, bytes]]) -> Inbound:
    portkey: dict[str, str] = {}
    forward: list[tuple[str, str]] = []
    authorization = traceparent = x_api_key = None
    content_length = None
    for name, value in raw:
        if name.startswith(PORTKEY_PREFIX):
            portkey[name.decode("latin-1")] = value.decode("latin-1")
        elif name not in _NOT_FORWARDED:
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
            if name == b"x-api-key":
                x_api_key = forward[-1][1]
        elif name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"content-length":
            content_length = int(value) if value.isdigit() else None
        elif name == b"traceparent":
            traceparent = value.decode("latin-1")
    return Inbound(portkey, authorization, content_length, forward, traceparent, x_api_key)


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    base_url: str
    # (header name, value) carrying the credential, or None to send none.
    credential: tuple[str, str] | None
    custom_host: bool
    timeout_s: float | None
    prices_id: str | None
    # The bare key (no scheme), for adapters that place it themselves.
    api_key: str | None = None
    # A config target's provider settings (option name, value); headers add to them.
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Routed:
    """A config that needs the routing engine: several targets, retries or overrides."""

    root: Node
    header_timeout_s: float | None


_provider_names: dict[int, frozenset[str]] = {}


def _names(providers: Mapping[str, ProviderSpec]) -> frozenset[str]:
    # The registry is a constant; its name set is computed once, not per request.
    names = _provider_names.get(id(providers))
    if names is None:
        names = _provider_names[id(providers)] = frozenset(providers)
    return names


_CONFIG_HEADER = "x-portkey-config"


@functools.lru_cache(maxsize=512)
def _config_nests_too_deep(text: str) -> bool:
    # Apps send the same config on every request and its tree is cached by the text
    # (routing.parse_config): a large one is scanned once too, not per request.
    return nests_too_deep(text)


def parse_config(value: str, providers: Mapping[str, ProviderSpec]) -> Node:
    """The routing tree of an inline ``x-portkey-config`` (cached by the header text)."""
    text = value.strip()
    if _config_nests_too_deep(text):
        raise too_deep(_CONFIG_HEADER, _CONFIG_HEADER)
    if text and not text.startswith(("{", "[", '"')):
        raise InvalidRequest(
            "x-portkey-config looks like a saved config id; saved configs are not "
            "available yet (they arrive with the control plane): send the config as a "
            "JSON object",
            code="saved_config_unavailable",
        )
    try:
        return parse_routing_config(text, _names(providers))
    except ConfigError as exc:
        raise InvalidRequest(str(exc), code=exc.code, param=exc.path or None) from None


_TIMEOUT_HEADER = "x-portkey-request-timeout"
# A day: longer than any provider keeps a call open. Past it a value is a slip (seconds
# given as milliseconds twice), not a wish; inf or NaN would mean no timeout at all.
MAX_REQUEST_TIMEOUT_MS = 86_400_000


def _timeout_s(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        ms = float(header)
    except ValueError:
        ms = math.nan
    # Written so that NaN, which every comparison refuses, fails it as well.
    if not 0 < ms <= MAX_REQUEST_TIMEOUT_MS:
        raise InvalidRequest(
            f"{_TIMEOUT_HEADER} must be a number of milliseconds above 0 and at most "
            f"{MAX_REQUEST_TIMEOUT_MS} (a day)",
            code="invalid_request_timeout",
            param=_TIMEOUT_HEADER,
        )
    return ms / 1000


def bind_leaf(
    leaf: Leaf | None,
    portkey: Mapping[str, str],
    authorization: str | None,
    policy: HostPolicy,
    providers: Mapping[str, ProviderSpec],
    header_timeout_s: float | None,
) -> Target:
    """The upstream call for one config target (or, with no config, the headers)."""
    provider = (leaf.provider if leaf else None) or portkey.get("x-portkey-provider")
    custom_host = (leaf.settings.custom_host if leaf else None) or portkey.get(
        "x-portkey-custom-host"
    )
    if not provider and not custom_host:
        where = f" (target {leaf.path})" if leaf is not None and leaf.path != ROOT_PATH else ""
        raise InvalidRequest(
            "no provider given: send x-portkey-provider (e.g. openai), "
            f"x-portkey-custom-host or an x-portkey-config with provider{where}",
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
    api_key = leaf.api_key if leaf else None
    if api_key:
        credential: tuple[str, str] | None = (spec.auth_header, spec.authorization(api_key))
    elif authorization:
        credential = (spec.auth_header, authorization)
        scheme, _, token = authorization.partition(" ")
        api_key = token.strip() if scheme.lower() == "bearer" and token else authorization
    else:
        credential = None
    timeout_ms = leaf.settings.request_timeout_ms if leaf else None
    return Target(
        provider=name,
        base_url=base_url,
        credential=credential,
        custom_host=bool(custom_host),
        timeout_s=timeout_ms / 1000 if timeout_ms is not None else header_timeout_s,
        prices_id=spec.prices_id,
        api_key=api_key,
        options=leaf.options if leaf else (),
    )


def _needs_routing(root: Node) -> bool:
    if not isinstance(root, Leaf):
        return True
    settings = root.settings
    return (
        settings.retry is not None and settings.retry.attempts > 0
    ) or settings.override_params is not None


def resolve_target(
    portkey: Mapping[str, str],
    authorization: str | None,
    policy: HostPolicy,
    providers: Mapping[str, ProviderSpec],
) -> Target | Routed:
    """One ``Target`` for the single-call fast path, or ``Routed`` for the engine."""
    config_header = portkey.get(_CONFIG_HEADER)
    header_timeout_s = _timeout_s(portkey.get(_TIMEOUT_HEADER))
    if config_header is None:
        if "x-portkey-virtual-key" in portkey:
            raise InvalidRequest(
                "virtual keys are not available yet: give x-portkey-provider and Authorization",
                code="virtual_key_unavailable",
            )
        return bind_leaf(None, portkey, authorization, policy, providers, header_timeout_s)
    root = parse_config(config_header, providers)
    if _needs_routing(root):
        return Routed(root, header_timeout_s)
    assert isinstance(root, Leaf)
    return bind_leaf(root, portkey, authorization, policy, providers, header_timeout_s)


_METADATA_HEADER = "x-portkey-metadata"


def _bad_metadata(message: str) -> InvalidRequest:
    return InvalidRequest(message, code="invalid_metadata", param=_METADATA_HEADER)


def parse_metadata(value: str | None) -> tuple[dict[str, str], str | None]:
    """``x-portkey-metadata``: a JSON object of strings; ``_user`` names the end user."""
    if value is None:
        return {}, None
    check_depth(value, _METADATA_HEADER, _METADATA_HEADER)
    try:
        raw = _decode_json(value)
    except msgspec.DecodeError:
        raise _bad_metadata(f"{_METADATA_HEADER} is not valid JSON") from None
    if not isinstance(raw, dict):
        raise _bad_metadata(f"{_METADATA_HEADER} must be a JSON object")
    for key, item in raw.items():
        if not isinstance(item, str):
            raise _bad_metadata(f"{_METADATA_HEADER} values must be strings ({key!r} is not)")
    return raw, raw.get("_user")
