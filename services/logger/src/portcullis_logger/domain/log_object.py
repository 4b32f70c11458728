"""The stored log: Portkey's LogObject (``_id``, ``request``, ``response``,
``organisation_id``, ``created_at``, ``metrics``) built from a RequestLogged event, plus
``attempts``: the routing attempt tree (issue 4), one entry per upstream call or skip.

Request and response bodies arrive as JSON bytes (msgspec.Raw) and are embedded as they
are, never decoded and re-encoded. Header values that look like credentials are masked
again here: the gateway strips them, and a log must never hold one even if it did not.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from portcullis.events import NULL_RAW, Attempt, RequestLogged

LOG_FORMAT_VERSION = "v1"
_PORTKEY_HEADER_PREFIX = "x-portkey-"
_SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-portkey-api-key",
        "x-portkey-virtual-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    }
)
_MASK = "[REDACTED]"


class LogRequest(msgspec.Struct, kw_only=True):
    url: str
    method: str
    headers: dict[str, str]
    body: msgspec.Raw
    portkeyHeaders: dict[str, str]  # noqa: N815 — Portkey's wire name


class LogResponse(msgspec.Struct, kw_only=True):
    status: int
    headers: dict[str, str]
    body: msgspec.Raw
    responseTime: int  # noqa: N815
    lastUsedOptionJsonPath: str  # noqa: N815


class LogMetrics(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The subset of Portkey's AnalyticsMetrics this gateway knows, plus timings."""

    id: str
    organisation_id: str
    workspace_slug: str
    created_at: str
    is_success: bool
    ai_org: str
    ai_model: str | None = None
    req_units: int = 0
    res_units: int = 0
    total_units: int = 0
    cached_units: int = 0
    reasoning_units: int = 0
    units_estimated: bool = False
    cost: float | None = None  # in cost_currency, not cents
    cost_currency: str = "USD"
    request_url: str
    request_method: str
    response_status_code: int
    response_time: int
    upstream_response_time: int | None = None
    first_token_time: int | None = None
    cache_status: str | None = None
    stream_mode: int
    retry_success_count: int = 0
    # Routing counts (issue 4). Portkey's AnalyticsMetrics has no names for these, so
    # they carry the event's names; retry_success_count is the answering target's retries.
    retries_total: int = 0
    fallbacks: int = 0
    rescued: bool = False
    trace_id: str
    span_id: str | None = None
    last_used_option_index: str | None = None
    user: str | None = None
    error: dict | None = None
    log_store_file_path_format: str = LOG_FORMAT_VERSION
    metadata_key: list[str] = msgspec.field(default_factory=list, name="metadata.key")
    metadata_value: list[str] = msgspec.field(default_factory=list, name="metadata.value")


class LogObject(msgspec.Struct, kw_only=True):
    id: str = msgspec.field(name="_id")
    request: LogRequest
    response: LogResponse
    organisation_id: str
    created_at: str
    metrics: LogMetrics
    # Every upstream call (and skipped target) in order; empty when there was one call.
    attempts: list[Attempt] = []
    # What the provider adapter dropped or clamped from the request.
    notes: list[str] = []
    # A body was cut (the gateway's MAX_LOG_BYTES) or lost with its oversized object:
    # the log is what could be kept, and says so (decision 0005).
    truncated: bool = False


_encode = msgspec.json.Encoder().encode


def iso_millis(epoch_ms: int) -> str:
    seconds, millis = divmod(epoch_ms, 1000)
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def mask_secrets(headers: dict[str, str]) -> dict[str, str]:
    return {k: (_MASK if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


def last_used_option_path(index: str) -> str:
    """Portkey reports the option that answered as a JSON path, e.g. ``$.config``."""
    return index if index.startswith("$") else f"$.{index}"


def build_log_object(event: RequestLogged, log_id: str) -> LogObject:
    request_headers = mask_secrets(event.request_headers)
    created_at = iso_millis(event.created_at_ms)
    usage = event.usage
    timings = event.timings
    response_time = round(timings.total_ms)
    url = event.provider_url or event.path
    metrics = LogMetrics(
        id=log_id,
        organisation_id=event.organisation_id,
        workspace_slug=event.workspace,
        created_at=created_at,
        is_success=event.is_success,
        ai_org=event.provider,
        ai_model=event.model,
        req_units=(usage.prompt_tokens or 0) if usage else 0,
        res_units=(usage.completion_tokens or 0) if usage else 0,
        total_units=(
            (usage.total_tokens or (usage.prompt_tokens or 0) + (usage.completion_tokens or 0))
            if usage
            else 0
        ),
        cached_units=(usage.cached_tokens or 0) if usage else 0,
        reasoning_units=(usage.reasoning_tokens or 0) if usage else 0,
        units_estimated=usage.estimated if usage else False,
        cost=event.cost,
        cost_currency=event.cost_currency,
        request_url=url,
        request_method=event.method,
        response_status_code=event.status,
        response_time=response_time,
        upstream_response_time=(
            round(timings.upstream_ms) if timings.upstream_ms is not None else None
        ),
        first_token_time=(
            round(timings.first_token_ms) if timings.first_token_ms is not None else None
        ),
        cache_status=event.cache_status,
        stream_mode=1 if event.stream else 0,
        retry_success_count=event.retry_attempts,
        retries_total=event.retries_total,
        fallbacks=event.fallbacks,
        rescued=event.rescued,
        trace_id=event.trace_id,
        span_id=event.span_id,
        last_used_option_index=event.last_used_option_index,
        user=event.user,
        error=event.error,
        metadata_key=list(event.metadata),
        metadata_value=list(event.metadata.values()),
    )
    return LogObject(
        id=log_id,
        request=LogRequest(
            url=url,
            method=event.method,
            headers=request_headers,
            body=event.request_body or NULL_RAW,
            portkeyHeaders={
                k: v
                for k, v in request_headers.items()
                if k.lower().startswith(_PORTKEY_HEADER_PREFIX)
            },
        ),
        response=LogResponse(
            status=event.status,
            headers=mask_secrets(event.response_headers),
            body=event.response_body or NULL_RAW,
            responseTime=response_time,
            lastUsedOptionJsonPath=last_used_option_path(event.last_used_option_index),
        ),
        organisation_id=event.organisation_id,
        created_at=created_at,
        metrics=metrics,
        attempts=event.attempts,
        notes=event.notes,
        truncated=event.truncated,
    )


def encode_log_object(event: RequestLogged, log_id: str) -> bytes:
    return _encode(build_log_object(event, log_id))
