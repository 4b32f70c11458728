"""The whole platform as real processes on free ports, for end-to-end tests.

Each part is a ManagedProcess so a test can kill, stop or restart one of them (NATS, the
logger, ...) while requests flow, the way an operator's bad day would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from minio import Minio
from portcullis_stack.servers import (
    ManagedProcess,
    S3Keys,
    mock_process,
    nats_process,
    seaweed_ports,
    seaweed_process,
    service_process,
    valkey_process,
)

S3_BUCKET = "portcullis-logs"
# Started in this order: each service's settings name the servers started before it.
START_ORDER = ("nats", "valkey", "s3", "mock", "gateway", "logger", "analytics")


@dataclass
class Platform:
    """Every part is drawn its ports as it starts (and drawn again should one be taken
    first), so the addresses below are known once ``start`` has returned."""

    base: Path
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    # Extra environment per service name, e.g. {"gateway": {"PORTCULLIS_GATEWAY_TRACE_EXPORTER": "console"}}.
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    # The only keys the platform's S3 accepts; the logger signs with them.
    s3_keys: S3Keys = field(default_factory=S3Keys.generate, repr=False)

    # --- addresses ---------------------------------------------------------------

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self['nats'].port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self['gateway'].port}"

    @property
    def mock_url(self) -> str:
        return f"http://127.0.0.1:{self['mock'].port}/v1"

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{seaweed_ports(self['s3']).s3}"

    @property
    def logger_port(self) -> int:
        return self["logger"].port

    @property
    def analytics_port(self) -> int:
        return self["analytics"].port

    def s3_client(self) -> Minio:
        """A client of the platform's S3, signing with its keys (it refuses anonymous)."""
        keys = self.s3_keys
        return Minio(
            self.s3_endpoint, keys.access_key, keys.secret_key.get_secret_value(), secure=False
        )

    def provider_headers(self, **extra: str) -> dict[str, str]:
        return {
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": self.mock_url,
            **extra,
        }

    # --- life cycle --------------------------------------------------------------

    def build(self) -> Platform:
        base = self.base
        logs = base / "logs"
        self.processes["nats"] = nats_process(base / "nats")
        self.processes["valkey"] = valkey_process(base / "valkey")
        self.processes["s3"] = seaweed_process(base / "s3", self.s3_keys)
        self.processes["mock"] = mock_process(logs / "mock.log")
        for name, module, port_setting, health in (
            ("gateway", "portcullis_gateway", "PORTCULLIS_GATEWAY_PORT", "/v1/health"),
            ("logger", "portcullis_logger", "PORTCULLIS_LOGGER_HTTP_PORT", "/health"),
            ("analytics", "portcullis_analytics", "PORTCULLIS_ANALYTICS_HTTP_PORT", "/health"),
        ):
            self.processes[name] = service_process(
                name, module, port_setting, health, logs / f"{name}.log"
            )
        for name, env in self.extra_env.items():
            self.processes[name].env.update(env)
        return self

    def _wiring(self, name: str) -> dict[str, str]:
        """What a service is told about the servers started before it."""
        base = self.base
        if name == "gateway":
            return {
                "PORTCULLIS_GATEWAY_NATS_URL": self.nats_url,
                "PORTCULLIS_GATEWAY_REDIS_URL": f"redis://127.0.0.1:{self['valkey'].port}/0",
                "PORTCULLIS_GATEWAY_SPOOL_DIR": str(base / "spool"),
                "PORTCULLIS_GATEWAY_ALLOW_PRIVATE_CUSTOM_HOSTS": "true",
                # Loopback is allowed for the mock, nothing else: the SSRF guard stays on.
                "PORTCULLIS_GATEWAY_CUSTOM_HOST_ALLOWLIST": "127.0.0.1,localhost",
                "PORTCULLIS_GATEWAY_MAX_BODY_BYTES": str(256 * 1024),
            }
        if name == "logger":
            return {
                "PORTCULLIS_LOGGER_NATS_URL": self.nats_url,
                "PORTCULLIS_LOGGER_S3_ENDPOINT": self.s3_endpoint,
                "PORTCULLIS_LOGGER_S3_ACCESS_KEY": self.s3_keys.access_key,
                "PORTCULLIS_LOGGER_S3_SECRET_KEY": self.s3_keys.secret_key.get_secret_value(),
                "PORTCULLIS_LOGGER_S3_BUCKET": S3_BUCKET,
            }
        if name == "analytics":
            return {
                "PORTCULLIS_ANALYTICS_NATS_URL": self.nats_url,
                "PORTCULLIS_ANALYTICS_CHDB_PATH": str(base / "chdb"),
            }
        return {}

    def start(self) -> Platform:
        try:
            for name in START_ORDER:
                proc = self.processes[name]
                # The caller's extra environment wins over the wiring.
                proc.env = {**self._wiring(name), **proc.env}
                proc.start(timeout=90)
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
