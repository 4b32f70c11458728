"""The settings every worker service has; each subclasses ``WorkerSettings`` with its own
env prefix, HTTP port and sink settings."""

from __future__ import annotations

from portcullis.settings import ServiceSettings
from portcullis.subjects import MAX_DELIVER


class WorkerSettings(ServiceSettings):
    http_host: str = "127.0.0.1"
    http_port: int

    # Un-acked messages are redelivered after this.
    ack_wait_s: float = 30.0
    # First redelivery delay after a failed sink write; doubles per delivery, capped at 60 s.
    nak_delay_s: float = 1.0
    # Deliveries before the worker dead-letters a message (the server never drops one).
    max_deliver: int = MAX_DELIVER
    # On SIGTERM: how long the sink writes in flight may take to finish before they are
    # handed back (nak) for redelivery.
    stop_grace_s: float = 5.0
