"""Dead-lettering: how a worker parks a JetStream message it will never be able to sink.

The original bytes go to ``pk.dlq.<family>.<workspace>`` (stream PK_DLQ) unchanged, with
the reason and the message's origin in headers, so an operator can inspect and replay it.
The publish is de-duplicated on the original stream sequence, so a worker that crashes
between the publish and the ``term`` of the original cannot park it twice.
"""

from __future__ import annotations

from typing import Any, Protocol

from nats.aio.msg import Msg

from portcullis.subjects import DLQ_STREAM, dlq_subject

REASON_HEADER = "Portcullis-Dlq-Reason"
SUBJECT_HEADER = "Portcullis-Dlq-Subject"
DELIVERIES_HEADER = "Portcullis-Dlq-Deliveries"
SEQUENCE_HEADER = "Portcullis-Dlq-Stream-Seq"
_KEEP_HEADERS = ("traceparent", "tracestate")
_MAX_REASON = 500


class Publisher(Protocol):
    """A JetStream-capable publisher, e.g. a FastStream ``NatsBroker``."""

    async def publish(
        self, message: Any, subject: str, headers: dict[str, str] | None = ..., *, stream: str
    ) -> Any: ...


def workspace_of(subject: str, prefix: str) -> str:
    """``pk.logs.acme`` -> ``acme``: whatever follows the family prefix."""
    return subject[len(prefix) + 1 :] if subject.startswith(prefix + ".") else "unknown"


def dead_letter_headers(msg: Msg, reason: str) -> dict[str, str]:
    original = msg.headers or {}
    headers = {k: original[k] for k in _KEEP_HEADERS if k in original}
    meta = msg.metadata
    headers["Nats-Msg-Id"] = f"dlq:{meta.stream}:{meta.sequence.stream}"
    headers[REASON_HEADER] = reason[:_MAX_REASON]
    headers[SUBJECT_HEADER] = msg.subject
    headers[DELIVERIES_HEADER] = str(meta.num_delivered)
    headers[SEQUENCE_HEADER] = str(meta.sequence.stream)
    return headers


async def publish_dead_letter(
    publisher: Publisher, msg: Msg, family: str, prefix: str, reason: str
) -> None:
    """Publish ``msg`` to its family's dead-letter subject; the caller then terms it."""
    subject = dlq_subject(family, workspace_of(msg.subject, prefix))
    await publisher.publish(
        msg.data, subject, headers=dead_letter_headers(msg, reason), stream=DLQ_STREAM
    )
