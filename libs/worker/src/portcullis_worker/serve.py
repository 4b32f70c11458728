"""Run a worker process: serve its app with uvicorn so that SIGTERM and SIGINT end the
process with exit 0.

uvicorn shuts down gracefully on those signals (the app's shutdown hooks stop the
consumer, which finishes or hands back what it holds), then re-raises the signal so the
process dies "by" it (exit -15). A clean stop is not a crash: once the server is up, the
re-raised signal lands on a no-op handler. Before it is up (still waiting for NATS or the
store at start-up) nothing is held yet, so a stop signal ends the process at once
instead of being queued behind an endless wait.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

import uvicorn
from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_worker.settings import WorkerSettings

log = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT", bound=WorkerSettings)


class _Server(uvicorn.Server):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.started:
            # The start-up tasks are cancelled on the way out; uvicorn may log that.
            log.info("stop signal while starting: exiting", extra={"signal": sig})
            raise SystemExit(0)
        super().handle_exit(sig, frame)


def serve(app: Any, host: str, port: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    _Server(config).run()


def run_worker(service: str, settings: SettingsT, create_app: Callable[[SettingsT], Any]) -> None:
    """A worker's ``python -m`` entry point: logging and tracing as its settings say, then
    its app served until a stop signal."""
    configure_logging(service, settings.log_level)
    configure_tracing(f"portcullis-{service}", settings.trace_exporter, settings.otlp_endpoint)
    serve(create_app(settings), settings.http_host, settings.http_port)
