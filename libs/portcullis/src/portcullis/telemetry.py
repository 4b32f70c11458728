"""Telemetry plumbing used by every service: JSON logs to stdout, OpenTelemetry tracing
with W3C context carried through NATS headers, and Prometheus metrics."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Mapping, MutableMapping, Sequence

import msgspec
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanContext

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_SECRET_WORDS = ("authorization", "api_key", "api-key", "apikey", "secret", "password", "token")
_encode = msgspec.json.Encoder().encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Extra fields whose names look secret are masked."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            if any(word in key.lower() for word in _SECRET_WORDS):
                value = "[REDACTED]"
            entry[key] = value
        if record.exc_info:
            # A filter may have set (and masked) the text already: it wins.
            entry["exc"] = record.exc_text or self.formatException(record.exc_info)
        return _encode(entry).decode() if _safe(entry) else str(entry)


def _safe(entry: Mapping[str, object]) -> bool:
    try:
        _encode(entry)
    except TypeError:
        for key, value in list(entry.items()):
            if not isinstance(value, str | int | float | bool | type(None) | list | dict):
                entry[key] = repr(value)  # type: ignore[index]
        return True
    return True


def configure_logging(
    service: str, level: str = "INFO", filters: Sequence[logging.Filter] = ()
) -> None:
    """JSON lines on stdout for every logger; ``filters`` see every record on the way
    (on the handler, so records of child loggers pass them too)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    for record_filter in filters:
        handler.addFilter(record_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries stay at warning unless asked.
    for noisy in ("nats", "aiohttp.access", "faststream.access", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_tracing(
    service: str, exporter: str = "none", otlp_endpoint: str | None = None
) -> None:
    """Install an SDK tracer provider.

    ``exporter``: ``none`` (spans are created so context propagates, nothing is exported),
    ``otlp`` (OTLP/HTTP to ``otlp_endpoint``) or ``console`` (JSON spans on stderr, for
    debugging and the trace-propagation test).
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # None leaves the exporter to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or its default.
        span_exporter = OTLPSpanExporter(endpoint=otlp_endpoint or None)
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    elif exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(
            SimpleSpanProcessor(
                ConsoleSpanExporter(
                    out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n"
                )
            )
        )
    elif exporter != "none":
        raise ValueError(f"unknown trace exporter {exporter!r}: use none, otlp or console")
    trace.set_tracer_provider(provider)


def inject_trace_headers(
    headers: MutableMapping[str, str], ctx: otel_context.Context | None = None
) -> None:
    """Write W3C ``traceparent``/``tracestate`` for ``ctx`` (default: current) into headers."""
    propagate.inject(headers, context=ctx)


def traceparent(span_context: SpanContext) -> str:
    """The W3C ``traceparent`` of a span context, as the TraceContext propagator writes
    it, without its context and propagator machinery (the gateway writes one per event).
    A ``tracestate`` is not carried."""
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{int(span_context.trace_flags):02x}"
    )


def extract_trace_context(headers: Mapping[str, str] | None) -> otel_context.Context:
    return propagate.extract(dict(headers or {}))
