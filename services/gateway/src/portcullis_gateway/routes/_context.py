"""``RequestContext``: one request's state on the request path — the runtime, the log's
``Exchange``, the caller's headers split once, the ASGI callables, the start time, and
the body and endpoint once read. Made by ``serve``; every step takes it instead of a
row of positional arguments. A step that answers differently (the Messages API's
Anthropic-shaped replies) or reads the body again works on a copy (``but``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from litestar.types import Receive, Scope, Send

from portcullis_gateway.domain.exchange import Exchange
from portcullis_gateway.domain.resolution import Inbound
from portcullis_gateway.runtime import Runtime


@dataclass(slots=True)
class RequestContext:
    rt: Runtime
    ex: Exchange
    inbound: Inbound
    scope: Scope
    receive: Receive
    send: Send
    t0: float  # perf_counter() when the request arrived
    body: bytes = b""
    # The endpoint after /v1 (``/chat/completions``) and the raw query, once known.
    suffix: str = ""
    query: str = ""

    def but(self, **changes) -> RequestContext:
        return replace(self, **changes)
