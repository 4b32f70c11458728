"""Health checks of every process `make up` starts, and a bounded wait for them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

from portcullis_stack.s3_keys import S3Keys
from portcullis_stack.servers import http_ready, s3_ready
from portcullis_stack.settings import StackSettings


@dataclass(frozen=True)
class HealthCheck:
    name: str
    what: str  # shown when it never becomes healthy: what was asked, where
    check: Callable[[], bool]


def valkey_ready(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        client = redis.Redis(host=host, port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    return check


def _http(name: str, url: str) -> HealthCheck:
    return HealthCheck(name, f"GET {url}", http_ready(url))


def infra_checks(s: StackSettings, keys: S3Keys) -> list[HealthCheck]:
    h = s.host
    s3 = f"{h}:{s.s3_port}"
    return [
        _http("nats", f"http://{h}:{s.nats_monitor_port}/healthz?js-enabled-only=true"),
        HealthCheck("valkey", f"PING redis://{h}:{s.valkey_port}", valkey_ready(h, s.valkey_port)),
        # The S3 gateway answers a signed ListBuckets once the filer behind it is up.
        HealthCheck("seaweedfs", f"signed ListBuckets http://{s3}/", s3_ready(s3, keys)),
    ]


def service_checks(s: StackSettings) -> list[HealthCheck]:
    h = s.host
    return [
        _http("mock", f"http://{h}:{s.mock_port}/health"),
        _http("gateway", f"http://{h}:{s.gateway_port}/v1/health"),
        _http("logger", f"http://{h}:{s.logger_http_port}/health"),
        _http("analytics", f"http://{h}:{s.analytics_http_port}/health"),
    ]


def wait_healthy(
    checks: Sequence[HealthCheck],
    deadline: float,
    on_healthy: Callable[[HealthCheck], None] = lambda _: None,
    should_stop: Callable[[], bool] = lambda: False,
    interval: float = 0.25,
) -> list[HealthCheck]:
    """Poll until every check passes or ``deadline`` (time.monotonic) passes. Returns the
    checks still failing (empty when all are healthy)."""
    pending = list(checks)
    while pending and not should_stop():
        for check in list(pending):
            if check.check():
                pending.remove(check)
                on_healthy(check)
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return pending
