"""Start granian (Rust HTTP server, ASGI interface, uvloop) with the gateway app."""

from __future__ import annotations

from granian import Granian
from granian.constants import Interfaces, Loops

from portcullis_gateway.settings import GatewaySettings

# granian's own lines (start, workers, shutdown) as JSON like everything else.
_JSON = {"()": "portcullis.telemetry.JsonFormatter", "service": "gateway"}
LOG_CONFIG = {"formatters": {"generic": _JSON, "access": _JSON}}


def serve(settings: GatewaySettings) -> None:
    Granian(
        "portcullis_gateway.app:app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        workers=settings.workers,
        log_access=False,
        log_level=settings.log_level.lower(),
        log_dictconfig=LOG_CONFIG,
        # Each worker drains its event buffer on shutdown; give it time to.
        workers_kill_timeout=int(settings.drain_timeout_s + settings.publish_timeout_s + 5),
    ).serve()
