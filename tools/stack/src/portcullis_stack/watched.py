"""A child process whose output is collected line by line as it comes, for tests that
run the platform runner or a supervisor as a subprocess: wait (bounded) for a line,
stop it with SIGTERM, and clean up everything it started when a test fails."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path


class Watched:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path | None = None):
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, count: int = 1) -> list[str]:
        """Lines matching ``pattern`` once there are ``count`` of them; fails the test
        with the output so far when the child exits or time runs out first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                hits = [line for line in self.lines if regex.search(line)]
                if len(hits) >= count:
                    return hits
                if self.proc.poll() is not None:
                    self._changed.wait(0.2)  # let the reader drain the last lines
                    hits = [line for line in self.lines if regex.search(line)]
                    if len(hits) >= count:
                        return hits
                    raise AssertionError(
                        f"exited {self.proc.returncode} before {pattern!r}:\n{self.output}"
                    )
                if time.monotonic() >= deadline:
                    raise AssertionError(f"no {pattern!r} after {timeout}s:\n{self.output[-6000:]}")
                self._changed.wait(0.2)

    def stop(self, timeout: float) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill_group(self) -> None:
        """Teardown after a failed test: ask nicely, then kill the child and every
        process group it reported starting (a supervisor's children live in their own)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for pid in [self.proc.pid, *started_pids(self.lines).values()]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.wait(10)


def pid_alive(pid: int) -> bool:
    """False for a process that is gone or only a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def started_pids(lines: list[str]) -> dict[str, int]:
    """honcho's "<name> started (pid=N)" lines, as {name: pid}."""
    found = {}
    for line in lines:
        m = re.search(r"\| (\S+) started \(pid=(\d+)\)", line)
        if m:
            found[m.group(1)] = int(m.group(2))
    return found
