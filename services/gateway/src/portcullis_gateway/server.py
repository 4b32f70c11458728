"""Serve the gateway with uvicorn on httptools and uvloop, one event loop per worker
process (``WORKERS``). Chosen over granian's ASGI interface for speed on the request
path (``docs/decisions/0004-upstream-http-client.md`` has the measurements).

SIGTERM and SIGINT stop it gracefully with exit 0: uvicorn stops accepting, lets the
requests in flight finish (up to ``DRAIN_TIMEOUT_S``), then runs the app's shutdown,
which drains the event buffer to NATS or the spool. uvicorn re-raises the signal after
that; it lands on a no-op handler, since a clean stop is not a crash.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from portcullis_gateway.domain.errors import error_body
from portcullis_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.started:
            # Nothing is held before start-up ends: a stop signal ends it at once.
            raise SystemExit(0)
        super().handle_exit(sig, frame)


_NOT_HTTP = error_body(
    "the request is not valid HTTP/1.1: its request line or a header could not be parsed "
    "(control characters, a malformed header or length)",
    "invalid_request_error",
    "invalid_http",
)
_NOT_HTTP_ANSWER = b"".join(
    [
        STATUS_LINE[400],
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(_NOT_HTTP)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        _NOT_HTTP,
    ]
)


class _GatewayHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol, with its answer to unparseable bytes in OpenAI's
    error shape (its own is plain text, which SDKs cannot read as an error)."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_NOT_HTTP_ANSWER)
        self.transport.close()


def serve(settings: GatewaySettings) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    config = uvicorn.Config(
        "portcullis_gateway.app:asgi_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=_GatewayHttp,
        loop="uvloop",
        lifespan="on",
        # Logging is configured by the app factory (JSON lines, like every service).
        log_config=None,
        access_log=False,
        # No proxy in front is trusted to rewrite the client address; and the
        # middleware that would do it costs a call per request.
        proxy_headers=False,
        server_header=False,
        backlog=4096,
        timeout_graceful_shutdown=int(settings.drain_timeout_s) + 1,
        timeout_keep_alive=75,
    )
    server = _Server(config)
    if settings.workers > 1:
        Multiprocess(config, target=server.run, sockets=[config.bind_socket()]).run()
    else:
        server.run()
