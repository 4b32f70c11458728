"""Telemetry across services: one trace from the gateway's request span into the
workers' spans (W3C trace context in NATS headers), and Prometheus counters everywhere."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

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


def test_every_service_exposes_its_counters(platform: Platform) -> None:
    response = httpx.post(
        f"{platform.gateway_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "count me"}]},
        headers={**platform.provider_headers(), "authorization": "Bearer sk-test"},
        timeout=10,
    )
    assert platform.get_log(response.headers["x-portkey-request-id"], timeout=5).status_code == 200
    time.sleep(1.0)  # analytics inserts in batches

    def samples(url: str) -> dict[str, float]:
        text = httpx.get(url, timeout=5).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = values.get(name, 0.0) + float(value)
        return values

    def total(values: dict[str, float], prefix: str) -> float:
        return sum(v for k, v in values.items() if k.startswith(prefix))

    gateway = samples(f"{platform.gateway_url}/metrics")
    logger = samples(f"http://127.0.0.1:{platform.logger_port}/metrics")
    analytics = samples(f"http://127.0.0.1:{platform.analytics_port}/metrics")
    assert total(gateway, "portcullis_gateway_requests_total") >= 1
    assert total(gateway, "portcullis_gateway_events_published_total") >= 1
    assert any(k.startswith("portcullis_gateway_events_spooled_total") for k in gateway)
    assert total(logger, "portcullis_logger_") >= 1
    assert total(analytics, "portcullis_analytics_") >= 1
