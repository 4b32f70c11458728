"""Telemetry across services: one trace from the gateway's request span into the
workers' spans (W3C trace context in NATS headers), and Prometheus counters everywhere."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.platform import Platform


@pytest.fixture
def traced_platform(tmp_path: Path):
    running = (
        Platform(
            tmp_path,
            extra_env={
                "gateway": {"PORTCULLIS_GATEWAY_TRACE_EXPORTER": "console"},
                "logger": {"PORTCULLIS_LOGGER_TRACE_EXPORTER": "console"},
                "analytics": {"PORTCULLIS_ANALYTICS_TRACE_EXPORTER": "console"},
            },
        )
        .build()
        .start()
    )
    yield running
    running.stop()


def _trace_ids(log_path: Path) -> set[str]:
    """Trace ids of the spans a service exported as JSON (one span per line)."""
    ids = set()
    for line in log_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if not line.startswith("{") or '"context"' not in line:
            continue
        try:
            span = json.loads(line)
        except json.JSONDecodeError:
            continue
        trace_id = span.get("context", {}).get("trace_id")
        if trace_id:
            ids.add(trace_id)
    return ids


def test_one_trace_spans_gateway_and_workers(traced_platform: Platform) -> None:
    response = httpx.post(
        f"{traced_platform.gateway_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "trace me"}]},
        headers={**traced_platform.provider_headers(), "authorization": "Bearer sk-test"},
        timeout=10,
    )
    assert response.status_code == 200
    assert (
        traced_platform.get_log(response.headers["x-portkey-request-id"], timeout=5).status_code
        == 200
    )

    deadline = time.monotonic() + 10
    shared: set[str] = set()
    while time.monotonic() < deadline and not shared:
        gateway = _trace_ids(traced_platform["gateway"].log_path)
        logger = _trace_ids(traced_platform["logger"].log_path)
        analytics = _trace_ids(traced_platform["analytics"].log_path)
        shared = gateway & logger & analytics
        time.sleep(0.2)
    assert shared, "no trace id is shared by the gateway's and the workers' spans"
    assert all(re.fullmatch(r"0x[0-9a-f]{32}", t) for t in shared)


Counters = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _counters(url: str) -> Counters:
    """Every counter sample of a /metrics page, keyed by sample name and labels. Only
    the ``*_total`` samples: the ``*_created`` ones are creation timestamps, not counts."""
    text = httpx.get(url, timeout=5).text
    values: Counters = {}
    for family in text_string_to_metric_families(text):
        if family.type != "counter":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _counter(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def test_every_service_counts_what_it_was_sent(platform: Platform) -> None:
    """Send a known number of good and refused requests; each service's counters move by
    exactly that many (a counter that moves by more, or not at all, fails)."""
    ok, refused = 3, 2
    pages = {
        "gateway": f"{platform.gateway_url}/metrics",
        "logger": f"http://127.0.0.1:{platform.logger_port}/metrics",
        "analytics": f"http://127.0.0.1:{platform.analytics_port}/metrics",
    }
    chat = {"route": "/v1/chat/completions", "provider": "openai"}
    expected = {
        "gateway": {
            _counter("portcullis_gateway_requests_total", **chat, status_class="2xx"): ok,
            _counter("portcullis_gateway_requests_total", **chat, status_class="4xx"): refused,
            # Two events a request: RequestLogged and RequestMetered.
            _counter("portcullis_gateway_events_published_total"): 2 * (ok + refused),
            _counter("portcullis_gateway_events_spooled_total"): 0,
            _counter("portcullis_gateway_events_dropped_total"): 0,
        },
        "logger": {
            _counter("portcullis_logger_consumed_total"): ok + refused,
            _counter("portcullis_logger_written_total"): ok + refused,
            _counter("portcullis_logger_write_failures_total"): 0,
        },
        "analytics": {
            _counter("portcullis_analytics_consumed_total"): ok + refused,
            _counter("portcullis_analytics_inserted_rows_total"): ok + refused,
            _counter("portcullis_analytics_insert_failures_total"): 0,
        },
    }
    before = {service: _counters(url) for service, url in pages.items()}

    headers = {**platform.provider_headers(), "authorization": "Bearer sk-test"}
    ids = []
    with httpx.Client(timeout=10) as http:
        for i in range(ok):
            response = http.post(
                f"{platform.gateway_url}/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"{i}"}]},
                headers=headers,
            )
            assert response.status_code == 200, response.text
            ids.append(response.headers["x-portkey-request-id"])
        for _ in range(refused):
            response = http.post(
                f"{platform.gateway_url}/v1/chat/completions",
                content=b"not json",
                headers={**headers, "content-type": "application/json"},
            )
            assert response.status_code == 400, response.text
            ids.append(response.headers["x-portkey-request-id"])
    for request_id in ids:
        assert platform.get_log(request_id, timeout=10).status_code == 200

    after: dict[str, Counters] = {}

    def deltas() -> dict[str, dict]:
        after.update({service: _counters(url) for service, url in pages.items()})
        return {
            service: {
                key: after[service].get(key, 0.0) - before[service].get(key, 0.0) for key in wanted
            }
            for service, wanted in expected.items()
        }

    # The gateway counts a request when its events are built, a moment after the answer,
    # and analytics inserts in batches: poll until the figures match (or 15 s pass), then
    # compare exactly, so a counter that moved too far fails as one that did not move.
    deadline = time.monotonic() + 15
    seen = deltas()
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = deltas()
    # A counter expected to stay at 0 must exist, or its "delta" of 0 proves nothing.
    absent = {s: [k for k in wanted if k not in after[s]] for s, wanted in expected.items()}
    assert not any(absent.values()), f"counters missing from /metrics: {absent}"
    assert seen == expected
