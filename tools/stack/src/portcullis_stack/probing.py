"""Test-side probes shared by every suite that runs real services: wait for a condition
with a deadline, and read a service's Prometheus counters."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Awaitable, Callable


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {within}s waiting for {what or check}")


def scrape(port: int, host: str = "127.0.0.1") -> dict[str, float]:
    """Prometheus text from ``/metrics`` -> {sample name with labels: value}."""
    text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
