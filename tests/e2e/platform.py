"""The whole platform as real processes on free ports, for end-to-end tests.

Each part is a ManagedProcess so a test can kill, stop or restart one of them (NATS, the
logger, ...) while requests flow, the way an operator's bad day would.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from portcullis_stack.servers import (
    ManagedProcess,
    SeaweedPorts,
    free_port,
    http_ready,
    nats_process,
    seaweed_process,
    valkey_process,
)

S3_ACCESS_KEY = "portcullis"
S3_SECRET_KEY = "portcullis-secret"
S3_BUCKET = "portcullis-logs"


def _service(
    name: str, module: str, env: dict[str, str], health: str, base: Path, *args: str
) -> ManagedProcess:
    return ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", module, *args],
        ready=http_ready(health),
        log_path=base / "logs" / f"{name}.log",
        env=env,
    )


@dataclass
class Platform:
    base: Path
    nats_port: int = field(default_factory=free_port)
    valkey_port: int = field(default_factory=free_port)
    s3_ports: SeaweedPorts = field(default_factory=SeaweedPorts.free)
    gateway_port: int = field(default_factory=free_port)
    logger_port: int = field(default_factory=free_port)
    analytics_port: int = field(default_factory=free_port)
    mock_port: int = field(default_factory=free_port)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    # Extra environment per service name, e.g. {"gateway": {"PORTCULLIS_GATEWAY_TRACE_EXPORTER": "console"}}.
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)

    # --- addresses ---------------------------------------------------------------

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def mock_url(self) -> str:
        return f"http://127.0.0.1:{self.mock_port}/v1"

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.s3_ports.s3}"

    def provider_headers(self, **extra: str) -> dict[str, str]:
        return {
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": self.mock_url,
            **extra,
        }

    # --- life cycle --------------------------------------------------------------

    def build(self) -> Platform:
        base = self.base
        self.processes["nats"] = nats_process(base / "nats", port=self.nats_port)
        self.processes["valkey"] = valkey_process(base / "valkey", port=self.valkey_port)
        self.processes["s3"] = seaweed_process(base / "s3", ports=self.s3_ports)
        self.processes["mock"] = _service(
            "mock",
            "mock_provider",
            {},
            f"http://127.0.0.1:{self.mock_port}/health",
            base,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.mock_port),
        )
        self.processes["gateway"] = _service(
            "gateway",
            "portcullis_gateway",
            {
                "PORTCULLIS_GATEWAY_PORT": str(self.gateway_port),
                "PORTCULLIS_GATEWAY_NATS_URL": self.nats_url,
                "PORTCULLIS_GATEWAY_REDIS_URL": f"redis://127.0.0.1:{self.valkey_port}/0",
                "PORTCULLIS_GATEWAY_SPOOL_DIR": str(base / "spool"),
                "PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS": "true",
                # Loopback is allowed for the mock, nothing else: the SSRF guard stays on.
                "PORTCULLIS_GATEWAY_CUSTOM_HOST_ALLOWLIST": "127.0.0.1,localhost",
                "PORTCULLIS_GATEWAY_MAX_BODY_BYTES": str(256 * 1024),
            },
            f"{self.gateway_url}/v1/health",
            base,
        )
        self.processes["logger"] = _service(
            "logger",
            "portcullis_logger",
            {
                "PORTCULLIS_LOGGER_NATS_URL": self.nats_url,
                "PORTCULLIS_LOGGER_S3_ENDPOINT": self.s3_endpoint,
                "PORTCULLIS_LOGGER_S3_ACCESS_KEY": S3_ACCESS_KEY,
                "PORTCULLIS_LOGGER_S3_SECRET_KEY": S3_SECRET_KEY,
                "PORTCULLIS_LOGGER_S3_BUCKET": S3_BUCKET,
                "PORTCULLIS_LOGGER_HTTP_PORT": str(self.logger_port),
            },
            f"http://127.0.0.1:{self.logger_port}/health",
            base,
        )
        self.processes["analytics"] = _service(
            "analytics",
            "portcullis_analytics",
            {
                "PORTCULLIS_ANALYTICS_NATS_URL": self.nats_url,
                "PORTCULLIS_ANALYTICS_CHDB_PATH": str(base / "chdb"),
                "PORTCULLIS_ANALYTICS_HTTP_PORT": str(self.analytics_port),
            },
            f"http://127.0.0.1:{self.analytics_port}/health",
            base,
        )
        for name, env in self.extra_env.items():
            self.processes[name].env.update(env)
        return self

    def start(self) -> Platform:
        try:
            for name in ("nats", "valkey", "s3", "mock", "gateway", "logger", "analytics"):
                self.processes[name].start(timeout=90)
        except BaseException:
            # A part that never got healthy must not leave the others running: the
            # fixture raises before its teardown, so nobody else would stop them.
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()

    def __getitem__(self, name: str) -> ManagedProcess:
        return self.processes[name]

    # --- reads through the public API -----------------------------------------------

    def get_log(self, request_id: str, timeout: float = 2.0) -> httpx.Response:
        """GET /v1/logs/{id}, polling until it is there or ``timeout`` passes."""
        return poll(
            lambda: httpx.get(f"{self.gateway_url}/v1/logs/{request_id}", timeout=5),
            lambda r: r.status_code == 200,
            timeout,
        )

    def graph(self, name: str, since: str, until: str) -> httpx.Response:
        return httpx.get(
            f"{self.gateway_url}/v1/analytics/graphs/{name}",
            params={"time_of_generation_min": since, "time_of_generation_max": until},
            timeout=10,
        )


def poll(
    fetch: Callable[[], httpx.Response], done: Callable[[httpx.Response], bool], timeout: float
) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)
