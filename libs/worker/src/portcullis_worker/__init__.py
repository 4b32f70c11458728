"""What every JetStream worker service (logger, analytics, ...) shares: the pull loop on
its durable consumer, dead-lettering, serving the app so a stop signal exits 0, the
redelivery decision, and /health + /metrics."""

from portcullis_worker.dead_letters import DeadLetters
from portcullis_worker.ops_routes import health_handler, metrics_handler
from portcullis_worker.pull_loop import PullLoop, PullSizing, each_message
from portcullis_worker.redelivery import DeadLetter, Retry, after_failure, backoff_s
from portcullis_worker.serve import serve

__all__ = [
    "DeadLetter",
    "DeadLetters",
    "PullLoop",
    "PullSizing",
    "Retry",
    "after_failure",
    "backoff_s",
    "each_message",
    "health_handler",
    "metrics_handler",
    "serve",
]
