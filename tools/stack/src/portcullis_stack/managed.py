"""A child server process for tests: start it, wait until it is ready on ports it holds
itself, stop, kill or restart it.

A port picked as free can be taken by another process (an outgoing connection's
ephemeral port, another suite's server) before the child binds it. So a process laid
out on free ports counts as ready only once the child itself listens on every one of
them (a server of someone else's answering on a lost port is not ours), and when the
child exits saying a port is in use, it is laid out on a fresh draw and started again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

# /proc/net/tcp's state column for a listening socket.
_TCP_LISTEN = "0A"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _never_ready() -> bool:
    return False


def _socket_inodes(pgid: int) -> set[str]:
    """Inodes of the sockets held by any process of the group ``pgid`` (a child and
    the workers it forks, which share its listening socket)."""
    inodes: set[str] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                # Fields after the command's closing parenthesis: state, ppid, pgrp.
                if int(stat.read().rsplit(")", 1)[1].split()[2]) != pgid:
                    continue
            for fd in os.scandir(f"/proc/{entry.name}/fd"):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return inodes


def listening_ports(pgid: int) -> set[int]:
    """The TCP ports the process group ``pgid`` listens on (Linux, from /proc)."""
    inodes = _socket_inodes(pgid)
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == _TCP_LISTEN and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def lost_a_port(output: str) -> bool:
    """True when a server's output says a port it was given was taken. Every server we
    run (NATS, Valkey, SeaweedFS, uvicorn, granian) words a failed bind "address already
    in use", in one case or another; `make up`'s pre-flight check "port N is already in
    use"."""
    return "already in use" in output.lower()


class PortTaken(RuntimeError):
    """The child exited because a port it was given was taken before it could bind it."""


@dataclass(frozen=True)
class Launch:
    """How to run a server on a given set of ports: what a layout returns."""

    argv: list[str]
    ready: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)


Layout = Callable[[tuple[int, ...]], Launch]


@dataclass
class ManagedProcess:
    """A child process with a readiness check, for tests that start real servers and
    stop, kill or restart them mid-test.

    Either a fixed command (``argv``, ``ready``), or a ``layout`` that builds the command
    for ``port_count`` ports drawn with ``pick`` at start (see ``on_free_ports``)."""

    name: str
    log_path: Path
    argv: list[str] = field(default_factory=list)
    ready: Callable[[], bool] = _never_ready
    # The caller's own environment on top of os.environ (and of the layout's).
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    proc: subprocess.Popen | None = None
    # Grace between SIGTERM and SIGKILL on stop().
    stop_timeout: float = 10.0
    # The ports the child must itself listen on before it counts as ready.
    ports: tuple[int, ...] = ()
    layout: Layout | None = None
    port_count: int = 0
    pick: Callable[[], int] = free_port
    # Draws of fresh ports before start() gives up on a machine that keeps taking them.
    attempts: int = 5
    _layout_env: dict[str, str] = field(default_factory=dict, repr=False)
    # Set once the child has been ready: from then on its ports are its address (clients
    # know them), so a restart reuses them rather than drawing new ones.
    _settled: bool = field(default=False, repr=False)
    _log_offset: int = field(default=0, repr=False)

    @classmethod
    def on_free_ports(
        cls, name: str, port_count: int, layout: Layout, log_path: Path, **kwargs: object
    ) -> ManagedProcess:
        return cls(name=name, log_path=log_path, layout=layout, port_count=port_count, **kwargs)  # type: ignore[arg-type]

    @property
    def port(self) -> int:
        """The first of its ports (most servers have one)."""
        return self.ports[0]

    def lay_out(self, ports: Iterable[int] | None = None) -> ManagedProcess:
        """Build the command for ``ports`` (a fresh draw when None) without starting."""
        assert self.layout is not None, f"{self.name} has a fixed command"
        chosen = tuple(ports) if ports is not None else self._draw()
        launch = self.layout(chosen)
        self.ports, self.argv, self.ready, self._layout_env = (
            chosen,
            launch.argv,
            launch.ready,
            launch.env,
        )
        return self

    def _draw(self) -> tuple[int, ...]:
        drawn: list[int] = []
        while len(drawn) < self.port_count:
            port = self.pick()
            if port not in drawn:
                drawn.append(port)
        return tuple(drawn)

    def start(self, timeout: float = 30.0) -> ManagedProcess:
        """Start the child and wait until it is ready. Before it has ever been ready, a
        child on drawn ports that loses one is started again on a fresh draw."""
        if self.layout is not None and not self.ports:
            self.lay_out()
        redraws = self.attempts - 1 if self.port_count and not self._settled else 0
        while True:
            try:
                self._spawn(timeout)
            except PortTaken:
                if redraws <= 0:
                    raise
                redraws -= 1
                self.lay_out()
                continue
            self._settled = True
            return self

    def _spawn(self, timeout: float) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 — owned by the child
        self._log_offset = log.tell()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self._layout_env, **self.env},
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

    def is_ready(self) -> bool:
        """Its check passes and the answer came from the child: it holds its ports."""
        if not self.ready():
            return False
        if not self.ports or self.proc is None:
            return True
        return set(self.ports) <= listening_ports(self.proc.pid)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                said = self._output_of_this_start()
                error = PortTaken if lost_a_port(said) else RuntimeError
                raise error(
                    f"{self.name} exited with {self.proc.returncode}; see {self.log_path}:\n"
                    + _last_lines(said)
                )
            if self.is_ready():
                return
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.name} not ready after {timeout}s; see {self.log_path}:\n" + self.tail()
        )

    def _output_of_this_start(self) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        try:
            return _last_lines(self.log_path.read_text(errors="replace"), lines)
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


def _last_lines(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])
