"""Event bodies that travel from the gateway to the workers over NATS JetStream.

Versioned msgspec Structs, JSON on the wire. Bodies the gateway already holds as JSON
bytes are carried as ``msgspec.Raw`` so they are embedded, never decoded and re-encoded.
A consumer that meets a newer ``v`` than it knows still decodes (unknown fields are
ignored); a breaking change gets a new subject family, not a silent reinterpretation.
"""

from __future__ import annotations

import msgspec

REQUEST_LOGGED_VERSION = 1
# msgspec.Raw cannot sit in a union; JSON null stands for "no body".
NULL_RAW = msgspec.Raw(b"null")
REQUEST_METERED_VERSION = 1


class Usage(msgspec.Struct, kw_only=True, omit_defaults=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    # True when the provider sent no usage and the figures were counted locally.
    estimated: bool = False


class Timings(msgspec.Struct, kw_only=True, omit_defaults=True):
    # Wall-clock start of the request at the gateway, epoch milliseconds.
    started_at_ms: int
    # Total time the gateway spent on the request, until the last byte was sent.
    total_ms: float
    # Time from request start until the provider's first byte (first chunk for streams).
    first_byte_ms: float | None = None
    # Time until the first streamed token reached the gateway (streams only).
    first_token_ms: float | None = None
    # Time spent waiting on the provider, summed over attempts.
    upstream_ms: float | None = None


class Attempt(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One upstream call (or a skipped target) made while routing a request."""

    path: str  # the target's JSON path in the config, e.g. config.targets[1].targets[0]
    provider: str
    status: int = 0  # 0: no HTTP answer (unreachable, timed out, skipped)
    latency_ms: float = 0.0
    retry: int = 0  # 0 for the first call to this target, then 1, 2, ...
    error: dict | None = None
    skipped: str | None = None  # why the target was not called, e.g. circuit_open


class RequestLogged(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The full record of one request: what came in, what went out, and how."""

    id: str
    workspace: str
    organisation_id: str
    trace_id: str
    span_id: str | None = None
    created_at_ms: int
    method: str
    path: str  # the gateway path, e.g. /v1/chat/completions
    # The endpoint: chat, completion, embeddings, images.generations, files, passthrough...
    kind: str | None = None
    provider: str
    model: str | None = None
    provider_url: str | None = None  # sanitised: no query secrets
    stream: bool = False
    status: int
    is_success: bool
    request_headers: dict[str, str] = {}  # secrets removed
    request_body: msgspec.Raw = NULL_RAW  # JSON bytes as received
    response_headers: dict[str, str] = {}
    response_body: msgspec.Raw = NULL_RAW  # for streams: the assembled answer
    error: dict | None = None
    usage: Usage | None = None
    cost: float | None = None  # USD; None when the model has no known price
    cost_currency: str = "USD"
    timings: Timings
    metadata: dict[str, str] = {}
    user: str | None = None
    retry_attempts: int = 0
    last_used_option_index: str = "config"
    cache_status: str = "DISABLED"
    # Routing (issue 4): every call made, in order; empty when there was one call.
    attempts: list[Attempt] = []
    retries_total: int = 0  # retries over all targets (retry_attempts: the answering one)
    fallbacks: int = 0  # times the request moved on to another target
    rescued: bool = False  # succeeded after at least one failed call
    # What the provider adapter dropped or clamped ("dropped unsupported parameter seed").
    notes: list[str] = []
    # True when a body was cut to keep the event under the gateway's MAX_LOG_BYTES, or
    # lost with its oversized object (decision 0005): the log says so, it is never dropped.
    truncated: bool = False
    v: int = REQUEST_LOGGED_VERSION


class RequestMetered(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One analytics row per request: no bodies, no headers."""

    id: str
    workspace: str
    organisation_id: str
    trace_id: str
    created_at_ms: int
    method: str
    path: str
    provider: str
    model: str | None = None
    stream: bool = False
    status: int
    is_success: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    tokens_estimated: bool = False
    cost: float | None = None
    latency_ms: float
    first_token_ms: float | None = None
    retry_attempts: int = 0
    cache_status: str = "DISABLED"
    metadata: dict[str, str] = {}
    user: str | None = None
    retries_total: int = 0
    fallbacks: int = 0
    rescued: bool = False
    v: int = REQUEST_METERED_VERSION


def metered_from_logged(event: RequestLogged) -> RequestMetered:
    """The metric event is a projection of the log event: one source of truth."""
    usage = event.usage or Usage()
    return RequestMetered(
        id=event.id,
        workspace=event.workspace,
        organisation_id=event.organisation_id,
        trace_id=event.trace_id,
        created_at_ms=event.created_at_ms,
        method=event.method,
        path=event.path,
        provider=event.provider,
        model=event.model,
        stream=event.stream,
        status=event.status,
        is_success=event.is_success,
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        total_tokens=usage.total_tokens
        or (usage.prompt_tokens or 0) + (usage.completion_tokens or 0),
        cached_tokens=usage.cached_tokens or 0,
        reasoning_tokens=usage.reasoning_tokens or 0,
        tokens_estimated=usage.estimated,
        cost=event.cost,
        latency_ms=event.timings.total_ms,
        first_token_ms=event.timings.first_token_ms,
        retry_attempts=event.retry_attempts,
        cache_status=event.cache_status,
        metadata=event.metadata,
        user=event.user,
        retries_total=event.retries_total,
        fallbacks=event.fallbacks,
        rescued=event.rescued,
    )


_json_encoder = msgspec.json.Encoder()
encode = _json_encoder.encode
decode_log = msgspec.json.Decoder(RequestLogged).decode
decode_metric = msgspec.json.Decoder(RequestMetered).decode
