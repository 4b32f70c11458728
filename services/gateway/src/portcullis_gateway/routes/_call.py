"""``call_provider``: the one function that sends a prepared request to a provider and
says how it ended, as an ``Outcome``. The single call, the routing engine and the
pass-through all use it; they differ only in what they do with the outcome (send it,
judge it, relay it).

What an outcome holds depends on the answer: a whole answer read (and, for a native
wire format, translated to OpenAI's shape); a stream whose head — and, when asked, its
first chunk — is in hand with the body still to relay; or a gateway error that the
failure was mapped to.
"""

from __future__ import annotations

from collections.abc import Mapping
from time import perf_counter, time

from portcullis_gateway.adapters.http import Response
from portcullis_gateway.adapters.upstream import UPSTREAM_FAILURES, map_failure
from portcullis_gateway.domain.bodies import provider_error_body
from portcullis_gateway.domain.errors import GatewayError, UpstreamUnreachable
from portcullis_gateway.domain.resolution import Target
from portcullis_gateway.domain.translation import Prepared, translate_answer
from portcullis_gateway.routing import Leaf, parse_retry_after
from portcullis_gateway.runtime import Runtime

# Upstream response headers the gateway does not pass on: hop-by-hop, recomputed
# (length; a body the client decompressed has lost its encoding header already), or
# not the caller's business.
_UPSTREAM_SKIP = frozenset(
    {
        b"content-type",  # set explicitly from the answer
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"date",
        b"server",
        b"set-cookie",
        b"trailer",
        b"upgrade",
        b"proxy-authenticate",
    }
)

# What is done with an answer that is not a stream.
READ = "read"  # read whole, errors made OpenAI-shaped, native formats translated
RELAY = "relay"  # pass-through: errors read whole, any other body left to relay


def passthrough_headers(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out = []
    for name, value in raw_headers:
        # An upstream that is itself a gateway must not shadow this gateway's headers.
        if name not in _UPSTREAM_SKIP and not name.startswith(b"x-portkey-"):
            out.append((name, value))
    return out


class Outcome:
    """How one call ended. ``resp`` is set while a body is still to be relayed."""

    __slots__ = (
        "prepared",
        "leaf",
        "target",
        "retries",
        "sent_at",
        "head_ms",
        "latency_ms",
        "status",
        "error",
        "resp",
        "first_chunk",
        "first_chunk_at",
        "payload",
        "headers",
        "content_type",
        "retry_after_s",
    )

    def __init__(self, prepared: Prepared | None, sent_at: float) -> None:
        # None only for a target the routing engine skipped (its circuit is open).
        self.prepared = prepared
        # The routing engine's: which config target this was, and its retries.
        self.leaf: Leaf | None = None
        self.target: Target | None = None
        self.retries = 0
        self.sent_at = sent_at
        self.head_ms = 0.0  # until the answer's status and headers
        self.latency_ms = 0.0  # until what this function read (head, first chunk, body)
        self.status = 0
        self.error: GatewayError | None = None
        self.resp: Response | None = None
        self.first_chunk = b""
        self.first_chunk_at = 0.0
        self.payload = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_type = ""
        self.retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def failed(self, error: GatewayError) -> Outcome:
        self.discard()
        self.error = error
        self.status = error.status
        self.latency_ms = (perf_counter() - self.sent_at) * 1000
        return self

    def discard(self) -> None:
        # A stream held open but not chosen: close it (its connection cannot be reused).
        if self.resp is not None:
            self.resp.close()
            self.resp = None


def is_stream_answer(stream: bool, prepared: Prepared, status: int, content_type: str) -> bool:
    if not stream or status != 200:
        return False
    if prepared.adapter is None:
        return content_type.startswith("text/event-stream")
    # Native streams are SSE, NDJSON or AWS event-stream frames; JSON is not a stream.
    return not content_type.startswith("application/json")


def read_answer(
    provider: str,
    prepared: Prepared,
    status: int,
    payload: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, bytes, str]:
    """A whole answer as the caller gets it: OpenAI's bytes as they are, another wire
    format translated, a provider error made OpenAI-shaped."""
    if prepared.adapter is not None:
        status, payload = translate_answer(prepared, status, payload, headers)
        return status, payload, "application/json"
    if status >= 400:
        payload, _ = provider_error_body(provider, status, payload)
        return status, payload, "application/json"
    return status, payload, content_type


async def call_provider(
    rt: Runtime,
    prepared: Prepared,
    provider: str,
    timeout_s: float | None,
    *,
    stream: bool = False,
    first_chunk: bool = False,
    mode: str = READ,
) -> Outcome:
    """Send ``prepared`` and read as much of the answer as the caller needs to decide:
    the whole of a non-stream answer (``READ``) or of an error (``RELAY``), the head of
    a stream, and its first chunk with ``first_chunk`` (the routing engine commits to a
    stream only once a byte has arrived)."""
    url = prepared.url
    sent_at = perf_counter()
    outcome = Outcome(prepared, sent_at)
    try:
        resp = await rt.upstream.request(
            prepared.method, url, prepared.headers, prepared.body, timeout_s=timeout_s
        )
    except UPSTREAM_FAILURES as exc:
        return outcome.failed(map_failure(exc, url, timeout_s))
    now = perf_counter()
    outcome.head_ms = outcome.latency_ms = (now - sent_at) * 1000
    status = outcome.status = resp.status
    content_type = outcome.content_type = resp.content_type
    outcome.headers = passthrough_headers(resp.raw_headers)
    if status == 429 or status >= 500:
        headers = resp.headers
        outcome.retry_after_s = parse_retry_after(
            headers.get("retry-after-ms"), headers.get("retry-after"), time()
        )
    try:
        if mode == RELAY and status < 400:
            outcome.resp = resp
            return outcome
        if mode == READ and is_stream_answer(stream, prepared, status, content_type):
            outcome.resp = resp
            if first_chunk:
                chunk = await resp.readany()
                if not chunk:
                    raise UpstreamUnreachable(
                        f"{provider} closed the stream before sending anything"
                    )
                outcome.first_chunk = chunk
                outcome.first_chunk_at = perf_counter()
                outcome.latency_ms = (outcome.first_chunk_at - sent_at) * 1000
            return outcome
        payload = await resp.read()
        resp.release()
    except UPSTREAM_FAILURES as exc:
        resp.close()
        return outcome.failed(map_failure(exc, url, timeout_s))
    except GatewayError as err:
        resp.close()
        return outcome.failed(err)
    outcome.latency_ms = (perf_counter() - sent_at) * 1000
    outcome.status, outcome.payload, outcome.content_type = read_answer(
        provider, prepared, status, payload, content_type, resp.headers
    )
    return outcome
