"""Pytest fixtures that start real NATS, Valkey and SeaweedFS S3 on free ports.

Enabled from the repo's root ``conftest.py``. Each server is started once per test
session in its own temporary folder; tests that kill or restart a server ask for a
function-scoped one instead (``fresh_nats``) so they never disturb the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portcullis_stack.servers import (
    ManagedProcess,
    SeaweedPorts,
    free_port,
    nats_process,
    seaweed_process,
    valkey_process,
)


@dataclass
class NatsHandle:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class ValkeyHandle:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class S3Handle:
    process: ManagedProcess
    ports: SeaweedPorts
    access_key: str = "portcullis"
    secret_key: str = "portcullis-secret"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.s3}"


def start_nats(base: Path) -> NatsHandle:
    port = free_port()
    proc = nats_process(base / "nats", port=port).start()
    return NatsHandle(proc, port)


@pytest.fixture(scope="session")
def infra_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("infra")


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[NatsHandle]:
    handle = start_nats(infra_dir / "shared")
    yield handle
    handle.process.stop()


@pytest.fixture
def fresh_nats(tmp_path: Path) -> Iterator[NatsHandle]:
    """A NATS of this test's own, safe to kill and restart."""
    handle = start_nats(tmp_path)
    yield handle
    handle.process.stop()


@pytest.fixture(scope="session")
def valkey_server(infra_dir: Path) -> Iterator[ValkeyHandle]:
    port = free_port()
    proc = valkey_process(infra_dir / "valkey", port=port).start()
    yield ValkeyHandle(proc, port)
    proc.stop()


@pytest.fixture(scope="session")
def s3_server(infra_dir: Path) -> Iterator[S3Handle]:
    ports = SeaweedPorts.free()
    proc = seaweed_process(infra_dir / "s3", ports=ports).start(timeout=60)
    yield S3Handle(proc, ports)
    proc.stop()
