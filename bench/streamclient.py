"""Time to first byte and total time of a streamed chat completion, at one connection.

wrk's Lua sees a response only once it is complete, so it cannot tell when a stream's
first event arrived. This is a deliberately small HTTP/1.1 client on a blocking socket
(no HTTP library, whose own per-request cost would be counted against the server): it
sends N requests one after another on one keep-alive connection and times, for each,
the first byte of the body (the first SSE event: what a user sees as the first token)
and the end of the body. Every stream is checked (status 200, the expected number of
``data:`` events, ``data: [DONE]`` last), so a fast error never passes for speed.

Run by run.py pinned to the load core: ``taskset -c 1 python streamclient.py --url ...``;
it prints one ``STREAM_JSON {...}`` line.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import sys
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

RESULT_MARK = "STREAM_JSON "


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the smallest value with at least q % of the values at or
    below it), as load generators report it: always one of the measured values, never
    an interpolation between two requests."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class ResponseReader:
    """Parses one HTTP/1.1 response fed in arbitrary pieces: the head, then a body
    framed by Content-Length or chunked transfer coding. ``body_started`` turns true
    with the first body byte, ``done`` when the body is complete."""

    def __init__(self) -> None:
        self._buf = b""
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.body_started = False
        self.done = False
        self._length: int | None = None
        self._chunked = False
        self._chunk_left = 0
        self._state = "size"

    def feed(self, data: bytes) -> None:
        self._buf += data
        if self.status is None:
            head_end = self._buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            self._parse_head(self._buf[:head_end].decode("latin-1"))
            self._buf = self._buf[head_end + 4 :]
        if self._chunked:
            self._feed_chunked()
        else:
            take = self._buf[: self._length - len(self.body)]
            self._buf = self._buf[len(take) :]
            self._add(take)
            self.done = len(self.body) == self._length

    def _parse_head(self, head: str) -> None:
        status_line, *lines = head.split("\r\n")
        self.status = int(status_line.split(" ", 2)[1])
        for line in lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            self._chunked = True
        elif "content-length" in self.headers:
            self._length = int(self.headers["content-length"])
        else:
            # Read-until-close bodies would end the keep-alive connection the timing
            # relies on; none of the servers measured sends one.
            raise ValueError("response has neither Content-Length nor chunked framing")

    def _add(self, data: bytes) -> None:
        if data:
            self.body_started = True
            self.body += data

    def _feed_chunked(self) -> None:
        # States: "size" (a chunk-size line is next), "data" (_chunk_left body bytes),
        # "crlf" (the CRLF after a chunk), "last" (the CRLF after the 0-size chunk; the
        # servers measured send no trailers).
        while not self.done:
            if self._state == "size":
                line_end = self._buf.find(b"\r\n")
                if line_end < 0:
                    return
                size = int(self._buf[:line_end].split(b";", 1)[0], 16)
                self._buf = self._buf[line_end + 2 :]
                self._chunk_left = size
                self._state = "data" if size else "last"
            elif self._state == "data":
                take = self._buf[: self._chunk_left]
                self._buf = self._buf[len(take) :]
                self._chunk_left -= len(take)
                self._add(take)
                if self._chunk_left:
                    return
                self._state = "crlf"
            else:
                if len(self._buf) < 2:
                    return
                if self._buf[:2] != b"\r\n":
                    raise ValueError(f"bad chunk framing: {self._buf[:20]!r}")
                self._buf = self._buf[2:]
                self.done = self._state == "last"
                self._state = "size"


def check_stream(status: int | None, body: bytes, events: int) -> None:
    """A stream counts only if it is the whole stream the upstream sent."""
    if status != 200:
        raise ValueError(f"status {status}: {bytes(body[:300])!r}")
    lines = [line for line in body.split(b"\n") if line.startswith(b"data:")]
    if not lines or lines[-1].strip() != b"data: [DONE]":
        raise ValueError(f"stream does not end with data: [DONE]: {bytes(body[-300:])!r}")
    if len(lines) - 1 != events:
        raise ValueError(f"{len(lines) - 1} events, expected {events}")


@dataclass(frozen=True)
class StreamResult:
    requests: int
    errors: int
    duration_s: float
    ttfb_p50_us: float
    ttfb_p99_us: float
    total_p50_us: float
    total_p99_us: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "rps": round(self.rps, 1)}


def summarise(ttfb_s: list[float], total_s: list[float], errors: int, duration_s: float):
    return StreamResult(
        requests=len(total_s),
        errors=errors,
        duration_s=round(duration_s, 3),
        ttfb_p50_us=round(percentile(ttfb_s, 50) * 1e6, 1),
        ttfb_p99_us=round(percentile(ttfb_s, 99) * 1e6, 1),
        total_p50_us=round(percentile(total_s, 50) * 1e6, 1),
        total_p99_us=round(percentile(total_s, 99) * 1e6, 1),
    )


def _request_bytes(url: str, headers: dict[str, str], body: bytes) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    head += [f"Content-Length: {len(body)}", "", ""]
    return parts.hostname or "127.0.0.1", parts.port or 80, "\r\n".join(head).encode() + body


def run(
    url: str, headers: dict[str, str], body: bytes, events: int, seconds: float,
    max_requests: int = 100_000,
) -> StreamResult:  # fmt: skip
    """Sequential streams on one connection for ``seconds`` (bounded by ``max_requests``);
    a failed stream is counted and the connection opened again."""
    host, port, request = _request_bytes(url, headers, body)
    ttfb: list[float] = []
    total: list[float] = []
    errors = 0
    sock: socket.socket | None = None
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline and len(total) + errors < max_requests:
        if sock is None:
            sock = socket.create_connection((host, port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = ResponseReader()
        first = None
        try:
            sent = time.perf_counter()
            sock.sendall(request)
            while not reader.done:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("closed mid-response")
                reader.feed(data)
                if first is None and reader.body_started:
                    first = time.perf_counter()
            end = time.perf_counter()
            check_stream(reader.status, bytes(reader.body), events)
        except (OSError, ValueError) as err:
            errors += 1
            if errors == 1:
                print(f"streamclient: {err}", file=sys.stderr)
            sock.close()
            sock = None
            continue
        ttfb.append(first - sent)
        total.append(end - sent)
        if reader.headers.get("connection", "").lower() == "close":
            sock.close()
            sock = None
    elapsed = time.perf_counter() - start
    if sock is not None:
        sock.close()
    if not total:
        raise SystemExit(f"streamclient: no stream succeeded ({errors} errors)")
    return summarise(ttfb, total, errors, elapsed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--header", action="append", default=[], help="name: value")
    p.add_argument("--body", required=True, help="the JSON request body")
    p.add_argument("--events", type=int, required=True, help="data: events before [DONE]")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--max-requests", type=int, default=100_000)
    args = p.parse_args(argv)
    headers = dict(h.split(": ", 1) for h in args.header)
    result = run(
        args.url, headers, args.body.encode(), args.events, args.seconds, args.max_requests
    )
    print(RESULT_MARK + json.dumps(result.to_json()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
