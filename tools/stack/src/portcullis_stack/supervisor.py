"""Runs the platform's processes in the foreground with honcho's Manager: prefixed,
coloured output, every child stopped together. On top of honcho it adds a hook that
runs once the children are started (the readiness watcher), lines of its own in the
stream, a stop in phases (gateway, then workers, then infrastructure: each phase gets
SIGTERM, then SIGKILL after a timeout), and a record of why the run stopped, so a
requested stop exits 0 and a failure does not."""

from __future__ import annotations

import datetime as dt
import enum
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

import honcho.manager
from honcho.manager import Manager
from honcho.printer import Message, Printer

SYSTEM_NAME = "up"
# Messages under this name are printed as they are, without honcho's prefix.
_RAW_NAME = "\x00raw"


class StopReason(enum.Enum):
    REQUESTED = "requested"  # Ctrl-C or SIGTERM
    CHILD_EXITED = "child exited"
    UNHEALTHY = "unhealthy"


class _StackPrinter(Printer):
    def write(self, message: Message) -> None:
        if message.name == _RAW_NAME:
            print(message.data, end="", file=self.output, flush=True)
            return
        super().write(message)


class Supervisor(Manager):
    def __init__(
        self,
        on_started: Callable[[Supervisor], None],
        stop_timeout_s: float,
        stop_phases: Sequence[Sequence[str]] = (),
    ):
        super().__init__(printer=_StackPrinter(sys.stdout))
        self.stop_reason: StopReason | None = None
        self.first_exited: str | None = None
        self._on_started = on_started
        self._stop_timeout_s = stop_timeout_s
        self._stop_phases = [list(phase) for phase in stop_phases]
        self._stopper: threading.Thread | None = None
        # honcho's own SIGKILL countdown starts at the first child that stops and would
        # cut the phases short; it stays only as a backstop behind all of them.
        honcho.manager.KILL_WAIT = stop_timeout_s * (len(self._stop_phases) + 1) + 5

    def say(self, text: str, *, raw: bool = False) -> None:
        """Print a line of the runner's own in order with the children's output. Safe
        from any thread: it goes through honcho's event queue."""
        name = _RAW_NAME if raw else SYSTEM_NAME
        self.events.put(Message("line", text + "\n", dt.datetime.now(), name, None))

    def fail(self, text: str) -> None:
        """Stop everything because the platform is not usable; the run exits non-zero.
        The stop goes through our own SIGTERM so honcho tears down on its main thread."""
        if self.stop_reason is None:
            self.stop_reason = StopReason.UNHEALTHY
        self.say(text)
        os.kill(os.getpid(), signal.SIGTERM)

    def terminate(self) -> None:
        """Called by honcho on SIGINT/SIGTERM and when a child exits; stops everything
        in phases on a thread of its own so honcho's loop keeps printing meanwhile."""
        if self._stopper is not None:
            return
        if self.stop_reason is None:
            gone = [n for n, p in self._processes.items() if p.get("returncode") is not None]
            self.stop_reason = StopReason.CHILD_EXITED if gone else StopReason.REQUESTED
            self.first_exited = gone[0] if gone else None
        self._terminating = True
        self._stopper = threading.Thread(target=self._stop_in_phases, name="stopper", daemon=True)
        self._stopper.start()

    def _stop_in_phases(self) -> None:
        listed = {name for phase in self._stop_phases for name in phase}
        rest = [name for name in self._processes if name not in listed]
        for phase in [*self._stop_phases, rest]:
            running = [name for name in phase if self._running(name)]
            if not running:
                continue
            for name in running:
                self._signal(name, signal.SIGTERM)
            deadline = time.monotonic() + self._stop_timeout_s
            while time.monotonic() < deadline and any(self._running(n) for n in running):
                time.sleep(0.1)
            for name in running:
                if self._running(name):
                    self._signal(name, signal.SIGKILL)

    def _running(self, name: str) -> bool:
        p = self._processes.get(name, {})
        return p.get("pid") is not None and p.get("returncode") is None

    def _signal(self, name: str, sig: signal.Signals) -> None:
        pid = self._processes[name]["pid"]
        # Printed here, not queued: honcho's queue is a multiprocessing one, and the
        # child's "stopped" event (from its reader process) could overtake a line put
        # in from this thread, so the log would say it stopped before it was told to.
        self._printer.write(
            Message("line", f"sending {sig.name} to {name} (pid {pid})\n", dt.datetime.now(),
                    SYSTEM_NAME, None)
        )  # fmt: skip
        # Each child leads its own process group (honcho starts it in a new session),
        # so the group signal also reaches anything the child spawned.
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _start(self) -> None:
        super()._start()
        # Started only now: honcho forks one reader per child above, and forking with
        # another thread alive is best avoided.
        self._on_started(self)

    def exit_code(self) -> int:
        if self.stop_reason is StopReason.REQUESTED:
            return 0
        if self.stop_reason is StopReason.UNHEALTHY:
            return 1
        return self.returncode or 1
