"""``pk.rpc.analytics.query``: an analytics graph (requests, cost, tokens, latency,
requests/rescued) for a workspace and time range (queue group "analytics", so replicas
share the requests)."""

from __future__ import annotations

import logging
import time

import msgspec
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from portcullis import rpc
from portcullis.subjects import ANALYTICS_DURABLE, RPC_ANALYTICS_QUERY

from portcullis_analytics.domain.graphs import (
    RESCUED_GRAPH,
    QueryError,
    graph_body,
    graph_query,
    graph_sql,
)
from portcullis_analytics.domain.rescued import rescued_body, rescued_sql
from portcullis_analytics.runtime import Runtime

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode


def _error(status: int, message: str, type_: str, code: str) -> rpc.RpcReply:
    return rpc.RpcReply(status=status, error=rpc.RpcError(message=message, type=type_, code=code))


async def answer_query(data: bytes, rt: Runtime) -> tuple[str, rpc.RpcReply]:
    """(graph name for the metrics label, reply)."""
    try:
        request = rpc.decode_analytics_query(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return "invalid", _error(
            400, f"invalid analytics query: {exc}", "invalid_request_error", "invalid_body"
        )
    try:
        query = graph_query(request, rt.settings.max_window_days)
        rescued = query.graph == RESCUED_GRAPH
        sql, params = (rescued_sql if rescued else graph_sql)(query, rt.store.database)
    except QueryError as exc:
        return request.graph, _error(400, exc.message, "invalid_request_error", exc.code)
    try:
        rows = await rt.store.select(sql, params)
    except Exception as exc:  # noqa: BLE001 — the store is down or refused: retryable
        log.warning("analytics query failed", extra={"error": str(exc)[:300]})
        return query.graph, _error(
            503, "analytics store unavailable, try again", "api_error", "store_unavailable"
        )
    body = _encode((rescued_body if rescued else graph_body)(query, rows))
    return query.graph, rpc.RpcReply(status=200, body=msgspec.Raw(body))


def register_rpc(broker: NatsBroker, rt: Runtime) -> None:
    async def raw_body(msg) -> bytes:
        return msg.body

    @broker.subscriber(
        RPC_ANALYTICS_QUERY, queue=ANALYTICS_DURABLE, decoder=raw_body, title="analytics.query"
    )
    async def on_analytics_query(msg: NatsMessage) -> bytes:
        started = time.perf_counter()
        graph, reply = await answer_query(msg.body, rt)
        rt.metrics.query_seconds.labels(graph, str(reply.status)).observe(
            time.perf_counter() - started
        )
        return rpc.encode(reply)
