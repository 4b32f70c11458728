"""CPU time of a process tree from /proc: a server may be a supervisor plus its worker
processes (uvicorn with WORKERS>1, say), and a worker's time is in its own stat until it
exits."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def tree_cpu_s(pid: int) -> float:
    """User + system seconds of ``pid`` and every live descendant."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        stack.extend(_children(current))
    return total / _TICKS
