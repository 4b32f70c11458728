"""What every JetStream worker service (logger, analytics, ...) shares: the pull loop on
its durable consumer, dead-lettering, the redelivery decision, the app skeleton with
/health + /metrics, and serving it so a stop signal exits 0."""

from portcullis_worker.app import create_worker_app, worker_broker
from portcullis_worker.dead_letters import DeadLetters
from portcullis_worker.metrics import WorkerMetrics
from portcullis_worker.ops_routes import health_handler, metrics_handler
from portcullis_worker.pull_loop import PullLoop, PullSizing, each_message
from portcullis_worker.redelivery import DeadLetter, Retry, after_failure, backoff_s
from portcullis_worker.serve import run_worker, serve
from portcullis_worker.settings import WorkerSettings

__all__ = [
    "DeadLetter",
    "DeadLetters",
    "PullLoop",
    "PullSizing",
    "Retry",
    "WorkerMetrics",
    "WorkerSettings",
    "after_failure",
    "backoff_s",
    "create_worker_app",
    "each_message",
    "health_handler",
    "metrics_handler",
    "run_worker",
    "serve",
    "worker_broker",
]
