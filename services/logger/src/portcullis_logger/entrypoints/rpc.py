"""``pk.rpc.logs.get``: the stored LogObject for an id, answered from S3 (queue group
"logger", so replicas share the requests)."""

from __future__ import annotations

import logging
import time
import uuid

import msgspec
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from portcullis import oversized, rpc
from portcullis.subjects import LOGGER_DURABLE, RPC_LOGS_GET

from portcullis_logger.adapters.log_store import StoreUnavailable
from portcullis_logger.domain.keys import InvalidLogId, object_key
from portcullis_logger.runtime import Runtime

log = logging.getLogger(__name__)


async def raw_body(msg) -> bytes:
    """Skip FastStream's JSON decoding: bodies are decoded with msgspec, once."""
    return msg.body


def _error(status: int, message: str, type_: str, code: str) -> rpc.RpcReply:
    return rpc.RpcReply(status=status, error=rpc.RpcError(message=message, type=type_, code=code))


async def answer_log_get(data: bytes, rt: Runtime) -> rpc.RpcReply:
    try:
        request = rpc.decode_log_get(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _error(400, f"invalid log request: {exc}", "invalid_request_error", "invalid_body")
    try:
        key = object_key(request.workspace, request.id)
    except InvalidLogId:
        return _error(400, "log id must be a UUID", "invalid_request_error", "invalid_log_id")
    try:
        body = await rt.store.get(key)
    except StoreUnavailable as exc:
        log.warning("log read failed", extra={"error": str(exc)})
        return _error(503, "log store unavailable, try again", "api_error", "store_unavailable")
    if body is None:
        return _error(404, f"no log with id {request.id}", "invalid_request_error", "log_not_found")
    return rpc.RpcReply(status=200, body=msgspec.Raw(body))


def register_rpc(broker: NatsBroker, rt: Runtime) -> None:
    @broker.subscriber(RPC_LOGS_GET, queue=LOGGER_DURABLE, decoder=raw_body, title="logs.get")
    async def on_log_get(msg: NatsMessage) -> bytes:
        started = time.perf_counter()
        reply = await answer_log_get(msg.body, rt)
        rt.metrics.rpc_seconds.labels(str(reply.status)).observe(time.perf_counter() - started)
        return await deliverable(rpc.encode(reply), reply, broker)


async def deliverable(encoded: bytes, reply: rpc.RpcReply, broker: NatsBroker) -> bytes:
    """The reply itself, or, when it is over the server's max_payload (a log of a 5 MB
    prompt), a reply naming the object its body was put into (decision 0005)."""
    nc = broker.connection
    if oversized.fits(len(encoded), nc.max_payload):
        return encoded
    name = f"reply.{uuid.uuid4().hex}"
    try:
        await oversized.put(nc.jetstream(), name, bytes(reply.body), nc.max_payload)
    except Exception as exc:  # noqa: BLE001 — the caller gets a 503, the logger lives on
        log.warning("could not hand over a big reply", extra={"error": type(exc).__name__})
        return rpc.encode(
            _error(503, "log store unavailable, try again", "api_error", "store_unavailable")
        )
    return rpc.encode(rpc.RpcReply(status=reply.status, object=name))
