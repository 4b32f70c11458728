"""NATS subjects, JetStream streams and durable consumer names: the event backbone's map.

One stream per family. Every service that touches a stream calls ``ensure_streams`` at
start-up; it is idempotent, so the order in which services start does not matter.
"""

from __future__ import annotations

LOGS_STREAM = "PK_LOGS"
METRICS_STREAM = "PK_METRICS"
DLQ_STREAM = "PK_DLQ"
# JetStream Object Store bucket (stream OBJ_PK_OVERSIZED) for events larger than the
# server's max_payload: the gateway puts the event there and publishes a small reference
# in its place (portcullis.oversized, decision 0005).
OVERSIZED_BUCKET = "PK_OVERSIZED"

LOGS_PREFIX = "pk.logs"
METRICS_PREFIX = "pk.metrics"
DLQ_PREFIX = "pk.dlq"

LOGGER_DURABLE = "logger"
ANALYTICS_DURABLE = "analytics"

RPC_LOGS_GET = "pk.rpc.logs.get"
RPC_ANALYTICS_QUERY = "pk.rpc.analytics.query"

# JetStream drops a message whose Nats-Msg-Id it has seen within this window. Sinks are
# idempotent by event id as well, so a replay from the spool after a long outage is safe.
DUPLICATE_WINDOW_S = 15 * 60
# How long events, dead letters and oversized bodies are kept: a week, so a worker
# that was away can catch up.
RETENTION_S = 7 * 24 * 3600
# A message delivered this many times without an ack goes to the dead-letter subject.
MAX_DELIVER = 5


def logs_subject(workspace: str) -> str:
    return f"{LOGS_PREFIX}.{workspace}"


def metrics_subject(workspace: str) -> str:
    return f"{METRICS_PREFIX}.{workspace}"


def dlq_subject(family: str, workspace: str) -> str:
    return f"{DLQ_PREFIX}.{family}.{workspace}"


STREAMS: dict[str, list[str]] = {
    LOGS_STREAM: [f"{LOGS_PREFIX}.>"],
    METRICS_STREAM: [f"{METRICS_PREFIX}.>"],
    DLQ_STREAM: [f"{DLQ_PREFIX}.>"],
}
