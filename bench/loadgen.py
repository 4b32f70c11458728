"""wrk as the load generator: a Lua script per scenario (POST body and headers), and a
``done`` hook that prints the summary as one JSON line so nothing is scraped from
wrk's human-readable text."""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

RESULT_MARK = "WRK_JSON "

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"requests\":%d,\"duration_us\":%d,\"status_errors\":%d," ..
    "\"connect_errors\":%d,\"read_errors\":%d,\"write_errors\":%d,\"timeouts\":%d," ..
    "\"lat_mean_us\":%.1f,\"lat_p50_us\":%d,\"lat_p90_us\":%d,\"lat_p99_us\":%d," ..
    "\"lat_max_us\":%d}\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    """A Lua string literal. The bodies and headers here are printable ASCII; anything
    else would need escapes LuaJIT and Lua 5.1 disagree on, so it is refused."""
    if not all(32 <= ord(ch) < 127 for ch in text):
        raise ValueError(f"not printable ASCII: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lua_script(body: str, headers: dict[str, str]) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n" + _DONE


@dataclass(frozen=True)
class WrkResult:
    connections: int
    requests: int
    duration_us: int
    status_errors: int  # non-2xx/3xx answers
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    lat_mean_us: float
    lat_p50_us: int
    lat_p90_us: int
    lat_p99_us: int
    lat_max_us: int

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def errors(self) -> int:
        return (
            self.status_errors
            + self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.timeouts
        )

    def to_json(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 1), "errors": self.errors}


def parse_wrk_output(stdout: str, connections: int) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            return WrkResult(connections=connections, **json.loads(line[len(RESULT_MARK) :]))
    raise ValueError(f"wrk printed no {RESULT_MARK.strip()} line:\n{stdout}")


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    connections: int,
    duration_s: float,
    cpu: int,
    threads: int = 1,
) -> WrkResult:
    threads = min(threads, connections)
    argv = [
        "taskset", "-c", str(cpu), wrk,
        f"-t{threads}", f"-c{connections}", f"-d{duration_s:g}s",
        "--timeout", "5s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk_output(done.stdout, connections)
