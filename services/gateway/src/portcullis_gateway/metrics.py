"""Prometheus metrics of one gateway worker, in a registry of its own (served at
``/metrics``). Request figures are recorded by the event publisher from each finished
exchange, so the request path itself does no metrics work."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
)  # fmt: skip


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "portcullis_gateway_requests",
            "Requests answered, by route, provider and status class (2xx, 4xx, ...).",
            ["route", "provider", "status_class"],
            registry=r,
        )
        self.request_latency = Histogram(
            "portcullis_gateway_request_duration_seconds",
            "Time from request start to the last byte sent, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "portcullis_gateway_upstream_latency_seconds",
            "Time spent waiting on the provider, by provider.",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.events_published = Counter(
            "portcullis_gateway_events_published", "Events acked by JetStream.", registry=r
        )
        self.events_spooled = Counter(
            "portcullis_gateway_events_spooled",
            "Events written to the local spool (NATS down or publish failed).",
            registry=r,
        )
        self.events_replayed = Counter(
            "portcullis_gateway_events_replayed",
            "Spooled events published after NATS came back.",
            registry=r,
        )
        self.events_oversized = Counter(
            "portcullis_gateway_events_oversized",
            "Log events over NATS max_payload sent through the Object Store (PK_OVERSIZED).",
            registry=r,
        )
        self.events_dead_lettered = Counter(
            "portcullis_gateway_events_dead_lettered",
            "Events that can never be published, parked in SPOOL_DIR/dead-letters, by reason.",
            ["reason"],
            registry=r,
        )
        self.events_dropped = Counter(
            "portcullis_gateway_events_dropped",
            "Events dropped because the in-memory buffer was full (EVENT_BUFFER_MAX).",
            registry=r,
        )
        self.events_failed = Counter(
            "portcullis_gateway_events_build_failed",
            "Exchanges that could not be turned into events (a bug; see the logs).",
            registry=r,
        )
        self.buffer_depth = Gauge(
            "portcullis_gateway_event_buffer_depth", "Events waiting to be published.", registry=r
        )
        self.spool_bytes = Gauge(
            "portcullis_gateway_spool_bytes",
            "Bytes in the local spool, not yet replayed.",
            registry=r,
        )
        self.routing_retries = Counter(
            "portcullis_gateway_routing_retries",
            "Retries made by the routing engine (config retry).",
            registry=r,
        )
        self.routing_fallbacks = Counter(
            "portcullis_gateway_routing_fallbacks",
            "Times a request moved on to another target.",
            registry=r,
        )
        self.routing_rescued = Counter(
            "portcullis_gateway_routing_rescued",
            "Requests that succeeded after at least one failed call.",
            registry=r,
        )
        self.circuit_skips = Counter(
            "portcullis_gateway_circuit_skips",
            "Targets skipped because their circuit was open.",
            registry=r,
        )
        self._request_children: dict[tuple[str, str, str], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self._upstream_children: dict[str, Histogram] = {}

    def watch(self, buffer_depth: Callable[[], float], spool_bytes: Callable[[], float]) -> None:
        self.buffer_depth.set_function(buffer_depth)
        self.spool_bytes.set_function(spool_bytes)

    def observe(
        self, route: str, provider: str, status: int, total_ms: float, upstream_ms: float | None
    ) -> None:
        key = (route, provider, f"{status // 100}xx")
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(*key)
        child.inc()
        latency = self._latency_children.get(route)
        if latency is None:
            latency = self._latency_children[route] = self.request_latency.labels(route)
        latency.observe(total_ms / 1000)
        if upstream_ms is not None:
            upstream = self._upstream_children.get(provider)
            if upstream is None:
                upstream = self._upstream_children[provider] = self.upstream_latency.labels(
                    provider
                )
            upstream.observe(upstream_ms / 1000)

    def observe_routing(
        self, retries: int, fallbacks: int, rescued: bool, circuit_skips: int
    ) -> None:
        if retries:
            self.routing_retries.inc(retries)
        if fallbacks:
            self.routing_fallbacks.inc(fallbacks)
        if rescued:
            self.routing_rescued.inc()
        if circuit_skips:
            self.circuit_skips.inc(circuit_skips)

    def render(self) -> bytes:
        return generate_latest(self.registry)
