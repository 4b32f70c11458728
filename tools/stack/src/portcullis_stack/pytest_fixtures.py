"""Pytest fixtures that start real NATS, Valkey and SeaweedFS S3 on free ports.

Enabled from the repo's root ``conftest.py``. Each server is started once per test
session in its own temporary folder; tests that kill or restart a server ask for a
function-scoped one instead (``fresh_nats``) so they never disturb the others. Every
server is drawn its ports at start and started again on fresh ones if a port was taken
first (``portcullis_stack.managed``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portcullis_stack.servers import (
    ManagedProcess,
    S3Keys,
    SeaweedPorts,
    nats_process,
    seaweed_identities,
    seaweed_ports,
    seaweed_process,
    valkey_process,
)


@dataclass
class NatsHandle:
    process: ManagedProcess

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class ValkeyHandle:
    process: ManagedProcess

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@dataclass
class S3Handle:
    """A SeaweedFS S3 that refuses anonymous requests; ``keys`` are the ones it takes."""

    process: ManagedProcess
    keys: S3Keys = field(repr=False)
    # The identities file holding the keys (mode 0600).
    identities: Path | None = None

    @property
    def ports(self) -> SeaweedPorts:
        return seaweed_ports(self.process)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.s3}"

    @property
    def access_key(self) -> str:
        return self.keys.access_key

    @property
    def secret_key(self) -> str:
        return self.keys.secret_key.get_secret_value()


def start_nats(base: Path) -> NatsHandle:
    return NatsHandle(nats_process(base / "nats").start())


def start_s3(base: Path, keys: S3Keys | None = None) -> S3Handle:
    """A SeaweedFS of its own under ``base``, with fresh keys unless given some."""
    keys = keys or S3Keys.generate()
    data = base / "data"
    return S3Handle(seaweed_process(data, keys).start(timeout=60), keys, seaweed_identities(data))


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
    proc = valkey_process(infra_dir / "valkey").start()
    yield ValkeyHandle(proc)
    proc.stop()


@pytest.fixture(scope="session")
def s3_server(infra_dir: Path) -> Iterator[S3Handle]:
    handle = start_s3(infra_dir / "s3")
    yield handle
    handle.process.stop()
