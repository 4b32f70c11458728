"""What the gateway needs to know about a provider, as data, and the adapter interface
every provider module implements.

A provider is a ``ProviderSpec`` (name, base URL, auth style, prices id) plus, for a wire
format other than OpenAI's, an adapter: a declarative parameter map (OpenAI field ->
provider field, default, min/max clamp, transform) and small pure functions for the
request, the response, the stream chunks and the errors. Modelled on the Portkey
gateway's ``src/providers/<name>/`` folders (facts carry over, code does not).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from portcullis_gateway.providers._openai_shapes import error_body
from portcullis_gateway.providers.framing import StreamFraming

OPENAI_ROUTES = frozenset({"/chat/completions", "/completions", "/embeddings"})

# Endpoint names are the OpenAI path suffixes the gateway already routes on.
CHAT = "/chat/completions"
COMPLETIONS = "/completions"
EMBEDDINGS = "/embeddings"
RERANK = "/rerank"

# Credentials the request path turns into auth itself: "aws" (SigV4 with IAM keys) or
# "google" (a service account's OAuth token).
CloudAuth = Literal["aws", "google"]


class _Drop:
    """Returned by a transform to leave the field out of the provider request."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Param:
    """How one OpenAI field becomes one provider field.

    ``target`` may be dotted (``generationConfig.temperature``) to nest the value.
    ``transform(value, openai_body)`` returns the provider value or ``DROP``.
    ``default`` is written when the caller did not send the field (Anthropic requires
    ``max_tokens``, for instance); ``min``/``max`` clamp numbers, with a note.
    """

    target: str
    default: Any = _UNSET
    min: float | None = None
    max: float | None = None
    transform: Callable[[Any, dict], Any] | None = None


# One OpenAI field may feed several provider fields (messages -> messages + system).
ParamMap = Mapping[str, Param | tuple[Param, ...]]


@dataclass(frozen=True, slots=True)
class ProviderOptions:
    """Per-request provider settings: the key, extra headers in Portkey's names
    (``x-portkey-anthropic-beta`` arrives here as ``anthropic-beta``), and whether the
    caller wants strict OpenAI bodies (``x-portkey-strict-open-ai-compliance``)."""

    api_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    strict_openai: bool = True


@dataclass(slots=True)
class ProviderRequest:
    """The exact request to send: method, path (appended to the base URL), headers and
    a JSON body. ``notes`` name what was dropped or clamped, for the log."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict
    notes: list[str] = field(default_factory=list)
    # Set when the host depends on the request (Azure's resource name), else the spec's.
    base_url: str | None = None


class AdapterError(ValueError):
    """The request cannot be expressed for this provider (unsupported endpoint, missing
    required field); answered 400 with an OpenAI-style body, never a 500."""

    def __init__(self, message: str, code: str = "invalid_request", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    def body(self) -> dict:
        return error_body(str(self), "invalid_request_error", self.code)


def _set_path(out: dict, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = out
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value


def _has_path(out: dict, dotted: str) -> bool:
    node: Any = out
    for name in dotted.split("."):
        if not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def _clamp(name: str, value: Any, param: Param, notes: list[str]) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    clamped = value
    if param.min is not None and clamped < param.min:
        clamped = type(value)(param.min) if isinstance(value, float) else param.min
    if param.max is not None and clamped > param.max:
        clamped = type(value)(param.max) if isinstance(value, float) else param.max
    if clamped != value:
        notes.append(f"clamped {name} from {value} to {clamped}")
    return clamped


def apply_params(body: dict, params: ParamMap, notes: list[str]) -> dict:
    """Translate an OpenAI body through a parameter map. Fields the map does not know
    are dropped and named in ``notes`` (the log carries them), never an error."""
    out: dict = {}
    for name, value in body.items():
        if value is None:
            continue  # OpenAI reads null as "not given"; providers often refuse it
        spec = params.get(name)
        if spec is None:
            notes.append(f"dropped unsupported parameter {name}")
            continue
        for param in spec if isinstance(spec, tuple) else (spec,):
            mapped = param.transform(value, body) if param.transform else value
            if mapped is DROP:
                continue
            _set_path(out, param.target, _clamp(name, mapped, param, notes))
    for spec in params.values():
        for param in spec if isinstance(spec, tuple) else (spec,):
            if param.default is not _UNSET and not _has_path(out, param.target):
                _set_path(out, param.target, param.default)
    return out


def mapped_json_post(
    provider: str,
    endpoints: Mapping[str, tuple[str, ParamMap]],
    openai_body: dict,
    endpoint: str,
    options: ProviderOptions,
) -> ProviderRequest:
    """The whole request side of a provider that differs only in its per-endpoint path
    and parameter map: a JSON POST, with the key (if any) as a Bearer token."""
    if endpoint not in endpoints:
        raise AdapterError(f"{provider} does not support {endpoint}", "unsupported_endpoint")
    path, params = endpoints[endpoint]
    notes: list[str] = []
    body = apply_params(openai_body, params, notes)
    headers = {"content-type": "application/json"}
    if options.api_key:
        headers["authorization"] = "Bearer " + options.api_key
    return ProviderRequest("POST", path, headers, body, notes)


class StreamTransformer(Protocol):
    """Fed the provider's stream events one at a time (decoded JSON, plus the SSE event
    name when there is one); returns the OpenAI chunks to send for each. ``finish()``
    at the end of the provider stream returns what is still owed (the final usage chunk
    when ``stream_options.include_usage`` was set). An ``{"error": ...}`` dict in the
    output is a provider error mid-stream: the request path sends it and ends."""

    usage: dict | None
    error: dict | None

    def feed(self, event: object, event_name: str | None = None) -> list[dict]: ...

    def finish(self) -> list[dict]: ...


class ProviderAdapter(Protocol):
    """The four transforms of one wire format, all pure, and what the request path asks
    of it besides. ``transform_response`` may be given the OpenAI request (``request``)
    for what the provider does not echo back (Cohere's embeddings omit the model, for
    instance)."""

    # Read-only here, so that an adapter may narrow them (Bedrock's framing is always
    # "aws-eventstream").
    @property
    def stream_framing(self) -> StreamFraming: ...

    @property
    def raw_stream(self) -> bool:
        """OpenAI's own streams pass through as bytes; every other one goes through
        ``stream_transformer``."""
        ...

    @property
    def input_tokens_header(self) -> str | None:
        """The response header with the input token count, for a provider that reports
        it there rather than in the body (Bedrock's InvokeModel)."""
        ...

    def needs_rewrite(self, body: bytes) -> bool:
        """Whether an OpenAI request body must go through ``transform_request`` before
        it is sent; one that needs no rewrite is sent as it came, undecoded."""
        ...

    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest: ...

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict: ...

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> StreamTransformer: ...

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]: ...


class NativeAdapter:
    """What every adapter of a wire format other than OpenAI's shares: each request is
    rewritten and each stream translated."""

    stream_framing: StreamFraming = "sse"
    raw_stream = False
    input_tokens_header: str | None = None

    def needs_rewrite(self, body: bytes) -> bool:
        return True


def now() -> int:
    return int(time.time())


def include_usage(openai_body: dict) -> bool:
    options = openai_body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


@dataclass(frozen=True, slots=True)
class Option:
    """One provider setting the gateway reads, by its Portkey name: the request header
    ``x-portkey-<name>`` (and the config field spelled with underscores), which reaches
    the adapter as ``ProviderOptions.headers[name]``. ``secret`` declares a credential:
    the header is never stored, and its value is masked wherever it shows up again (see
    ``domain.credentials``); ``parts`` name the members of a JSON credential that are
    values to mask on their own (a service account's ``private_key``)."""

    name: str
    secret: bool = False
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    name: str
    base_url: str
    routes: frozenset[str] = OPENAI_ROUTES
    # Header that carries the caller's key, and the scheme in front of a config api_key.
    # A credential by definition: no header named here is ever stored.
    auth_header: str = "authorization"
    auth_scheme: str = "Bearer "
    # genai-prices provider id for cost; None when prices are not known.
    prices_id: str | None = None
    # The wire-format adapter; None means OpenAI's format, passed through untouched.
    adapter: ProviderAdapter | None = None
    # Other names callers use for this provider (Portkey's slug vs. the short name).
    aliases: tuple[str, ...] = ()
    # A plain API key needs no cloud auth.
    cloud_auth: CloudAuth | None = None
    # Set when the host depends on a region each request may name (``base_url`` is
    # this region's); SigV4 signs for it when no region is given.
    default_region: str | None = None
    # The x-portkey-* settings this provider reads beyond the key, credentials declared
    # secret (``Option``). Every option an adapter reads is listed here.
    options: tuple[Option, ...] = ()

    def authorization(self, api_key: str) -> str:
        return self.auth_scheme + api_key
