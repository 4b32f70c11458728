"""The raw facts of one request/response, gathered on the request path with no work
beyond keeping references, and turned into a ``RequestLogged`` later, in the publisher.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from portcullis.events import NULL_RAW, Attempt, RequestLogged, Timings

from portcullis_gateway.domain import secret_values
from portcullis_gateway.domain import stream as sse
from portcullis_gateway.domain import usage as usage_rules
from portcullis_gateway.domain.cost import PriceBook
from portcullis_gateway.domain.endpoints import KINDS as ENDPOINT_KINDS
from portcullis_gateway.domain.json_input import nests_too_deep
from portcullis_gateway.domain.redaction import redact_headers

_encode = msgspec.json.Encoder().encode


class Exchange:
    """Mutable record filled in by the request handler. Slots keep it small and cheap."""

    __slots__ = (
        "request_id",
        "trace_id",
        "span_id",
        "trace_context",
        "method",
        "path",
        "route",
        "kind",
        "started_at_ms",
        "total_ms",
        "first_byte_ms",
        "upstream_ms",
        "request_headers",
        "request_body",
        "request_body_json",
        "provider",
        "provider_url",
        "prices_id",
        "model",
        "stream",
        "status",
        "response_headers",
        "response_body",
        "chunks",
        "chunk_ms",
        "error",
        "metadata",
        "user",
        "retry_count",
        "option_index",
        "attempts",
        "retries_total",
        "fallbacks",
        "rescued",
        "notes",
        "provider_usage",
        "secrets",
    )

    def __init__(
        self,
        request_id: str,
        trace_id: str,
        method: str,
        path: str,
        kind: str,
        started_at_ms: int,
        request_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.request_id = request_id
        self.trace_id = trace_id
        self.span_id: str | None = None
        # The server span's context, or with tracing off the caller's traceparent.
        self.trace_context: object | None = None
        self.method = method
        self.path = path
        # The metrics label when the path carries ids (/v1/files/file-1): bounded.
        self.route: str | None = None
        self.kind = kind
        self.started_at_ms = started_at_ms
        self.total_ms = 0.0
        self.first_byte_ms: float | None = None
        self.upstream_ms: float | None = None
        self.request_headers = request_headers
        self.request_body: bytes | None = None
        self.request_body_json = False
        self.provider = "unknown"
        self.provider_url: str | None = None
        self.prices_id: str | None = None
        self.model: str | None = None
        self.stream = False
        self.status = 0
        # Headers the caller got, as sent (bytes pairs); decoded off the request path.
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.response_body: bytes | None = None
        self.chunks: list[bytes] | None = None
        self.chunk_ms: list[float] | None = None
        self.error: dict | None = None
        self.metadata: dict[str, str] = {}
        self.user: str | None = None
        # Routing: retries on the answering target, its config path, and the calls made
        # (None on the single-call path, which records no attempt list).
        self.retry_count = 0
        self.option_index = "config"
        self.attempts: list[Attempt] | None = None
        self.retries_total = 0
        self.fallbacks = 0
        self.rescued = False
        # What the adapter dropped or clamped, for the log; None when nothing was.
        self.notes: list[str] | None = None
        # A translated stream's usage as the provider reported it, asked for or not.
        self.provider_usage: dict | None = None
        # The request's own credential values (domain.credentials), collected as they
        # are read; masked by value in what is answered, logged and stored.
        self.secrets: Sequence[str] = ()

    def chose(self, provider: str, prices_id: str | None) -> None:
        """The provider the log and the response headers name, and its price list."""
        self.provider = provider
        self.prices_id = prices_id

    def add_secret(self, value: str | None) -> None:
        """A credential met after the headers (a token minted for the request)."""
        found: list[str] = []
        secret_values.add(found, value)
        if found and found[0] not in self.secrets:
            self.secrets = (*self.secrets, *found)

    def calling(self, url: str, notes: list[str] | None) -> None:
        # Never the query, which may hold a key (Gemini's ?key=).
        self.provider_url = url.partition("?")[0]
        self.notes = notes


class _ResponsePeek(msgspec.Struct):
    model: str | None = None
    usage: dict | None = None
    error: object = None
    # Kept as bytes and decoded only when usage is missing: no cost on the common path,
    # and an odd shape never costs the usage.
    choices: msgspec.Raw = NULL_RAW


def _answer_text(raw: msgspec.Raw) -> str:
    """The generated text of a chat or text completion, for a local token estimate."""
    choices = _decode_any(raw)
    parts: list[str] = []
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else choice.get("text")
        if isinstance(content, str):
            parts.append(content)
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                parts.append(function["arguments"])
    return "".join(parts)


_peek_response = msgspec.json.Decoder(_ResponsePeek).decode
_decode_any = msgspec.json.decode


def _raw_json(body: bytes | None, known_json: bool) -> msgspec.Raw:
    """Embed JSON bytes as they are; anything else as a JSON string (never invalid JSON)."""
    if body is None:
        return NULL_RAW
    if known_json:
        return msgspec.Raw(body)
    return msgspec.Raw(_encode(body.decode("utf-8", "replace")))


def _stream_format(kind: str) -> str:
    if kind == sse.COMPLETION:
        return sse.COMPLETION
    # Pass-through endpoints (the Responses API, audio) stream typed events, not chunks.
    return sse.EVENTS if kind in ENDPOINT_KINDS else sse.CHAT


def build_logged(
    ex: Exchange, *, workspace: str, organisation_id: str, prices: PriceBook
) -> RequestLogged:
    usage = None
    first_token_ms = None
    response_model = None
    error = ex.error
    # The hot path only peeks a body it passes on untouched: one nested past the limit
    # is logged as text, so nothing that reads the log (the usage estimate below, the
    # logger, log readers) recurses into it. Here, off the request path, the scan is free
    # for the caller.
    request_body = ex.request_body
    request_json = (
        ex.request_body_json and request_body is not None and not nests_too_deep(request_body)
    )
    prompt_body = request_body if request_json or request_body is None else b""
    if ex.chunks is not None:
        summary = sse.assemble(ex.chunks, _stream_format(ex.kind))
        response_body = msgspec.Raw(_encode(summary.body))
        response_model = summary.body.get("model")
        usage = usage_rules.from_openai(summary.usage or ex.provider_usage)
        if usage is None and prompt_body is not None and summary.text:
            usage = usage_rules.estimate(prompt_body, summary.text)
        if summary.first_token_chunk is not None and ex.chunk_ms:
            first_token_ms = ex.chunk_ms[summary.first_token_chunk]
        if error is None and summary.error is not None:
            error = summary.error
    else:
        known_json = False
        if ex.response_body is not None:
            try:
                peek = _peek_response(ex.response_body)
                known_json = True
                response_model = peek.model
                if 200 <= ex.status < 300:
                    usage = usage_rules.from_openai(peek.usage)
                    if usage is None and prompt_body is not None:
                        # The provider sent no usage: counted locally, marked estimated.
                        text = _answer_text(peek.choices)
                        if text:
                            usage = usage_rules.estimate(prompt_body, text)
                elif error is None and isinstance(peek.error, dict):
                    error = peek.error  # the provider's own error object
            except msgspec.ValidationError:
                known_json = True  # valid JSON, just not an object
            except msgspec.DecodeError:
                known_json = False
        response_body = _raw_json(ex.response_body, known_json)
    model = ex.model or response_model
    return RequestLogged(
        id=ex.request_id,
        workspace=workspace,
        organisation_id=organisation_id,
        trace_id=ex.trace_id,
        span_id=ex.span_id,
        created_at_ms=ex.started_at_ms,
        method=ex.method,
        path=ex.path,
        kind=ex.kind,
        provider=ex.provider,
        model=model,
        provider_url=ex.provider_url,
        stream=ex.stream,
        status=ex.status,
        is_success=200 <= ex.status < 300 and error is None,
        request_headers=redact_headers(ex.request_headers),
        request_body=_raw_json(request_body, request_json),
        response_headers={
            name.decode("latin-1"): value.decode("latin-1") for name, value in ex.response_headers
        },
        response_body=response_body,
        error=error,
        usage=usage,
        cost=prices.cost(ex.prices_id, model, usage),
        timings=Timings(
            started_at_ms=ex.started_at_ms,
            total_ms=round(ex.total_ms, 3),
            first_byte_ms=ex.first_byte_ms,
            first_token_ms=first_token_ms,
            upstream_ms=ex.upstream_ms,
        ),
        metadata=ex.metadata,
        user=ex.user,
        retry_attempts=ex.retry_count,
        last_used_option_index=ex.option_index,
        attempts=ex.attempts or [],
        retries_total=ex.retries_total,
        fallbacks=ex.fallbacks,
        rescued=ex.rescued,
        notes=ex.notes or [],
    )


def exchange_bytes(ex: Exchange) -> int:
    """The body bytes an exchange carries (request, response or stream chunks): what its
    event's build and encoding cost grows with."""
    size = len(ex.request_body) if ex.request_body is not None else 0
    if ex.chunks is not None:
        return size + sum(len(chunk) for chunk in ex.chunks)
    return size + (len(ex.response_body) if ex.response_body is not None else 0)


# Room for a cut body's wrapper ({"truncated": true, "bytes": N, "head": "..."}).
_CUT_WRAPPER = 128


def _cut(body: msgspec.Raw, keep: int) -> msgspec.Raw:
    """A body cut to at most ``keep`` bytes of JSON: its size and the head that fits, as
    text. Escaping can grow the head; each retry drops as many bytes as it overshot."""
    head_bytes = max(keep - _CUT_WRAPPER, 0)
    view = memoryview(body)
    while True:
        head = bytes(view[:head_bytes]).decode("utf-8", "ignore")
        cut = _encode({"truncated": True, "bytes": len(body), "head": head})
        if len(cut) <= keep or head_bytes == 0:
            return msgspec.Raw(cut)
        head_bytes = max(head_bytes - (len(cut) - keep), 0)


def cap_bodies(event: RequestLogged, encoded_size: int, max_bytes: int) -> RequestLogged:
    """The event within ``max_bytes`` encoded: the bodies share what the rest leaves, the
    smaller one whole if it fits in half, the larger one cut to the remainder; marked
    ``truncated``. Pure; only ever called for an event over the cap."""
    request, response = event.request_body, event.response_body
    budget = max(max_bytes - (encoded_size - len(request) - len(response)), 0)
    small, large = sorted((len(request), len(response)))
    small_keep = small if small <= budget // 2 else budget // 2
    large_keep = budget - small_keep
    keep_request, keep_response = (
        (small_keep, large_keep) if len(request) <= len(response) else (large_keep, small_keep)
    )
    return msgspec.structs.replace(
        event,
        request_body=request if len(request) <= keep_request else _cut(request, keep_request),
        response_body=response if len(response) <= keep_response else _cut(response, keep_response),
        truncated=True,
    )
