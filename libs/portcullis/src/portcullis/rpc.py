"""Request/reply bodies for reads that the gateway forwards to the store owners over NATS
(``pk.rpc.logs.get`` to the logger, ``pk.rpc.analytics.query`` to analytics)."""

from __future__ import annotations

import msgspec

from portcullis.events import NULL_RAW


class LogGetRequest(msgspec.Struct, kw_only=True):
    id: str
    workspace: str = "default"


class AnalyticsQuery(msgspec.Struct, kw_only=True):
    graph: str  # requests | cost | tokens | latency
    workspace: str = "default"
    time_min: str  # ISO 8601 with offset, as the caller gave it
    time_max: str
    # Optional filters, by Portkey's query parameter names (e.g. "metadata", "ai_model").
    filters: dict[str, str] = {}


class RpcError(msgspec.Struct, kw_only=True):
    message: str
    type: str = "invalid_request_error"
    code: str | None = None


class RpcReply(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``status`` is the HTTP status the gateway should answer with; ``body`` the JSON
    body on success, ``error`` an OpenAI-style error otherwise."""

    status: int
    body: msgspec.Raw = NULL_RAW
    error: RpcError | None = None
    # A body too big for one reply (a log over max_payload) is put into the
    # PK_OVERSIZED object store under this name instead; the reader fetches it and
    # deletes it (the bucket's TTL removes one whose reader died).
    object: str | None = None


encode = msgspec.json.Encoder().encode
decode_log_get = msgspec.json.Decoder(LogGetRequest).decode
decode_analytics_query = msgspec.json.Decoder(AnalyticsQuery).decode
decode_reply = msgspec.json.Decoder(RpcReply).decode
