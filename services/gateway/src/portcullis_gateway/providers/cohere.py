"""Cohere API v2 (``/v2/chat``, ``/v2/embed``, ``/v2/rerank``) <-> OpenAI shapes.

Facts from Cohere's v2 reference: chat messages, tools and tool calls already follow
OpenAI's layout, but sampling is spelled ``p`` / ``k`` / ``stop_sequences``, tool_choice
is ``REQUIRED`` / ``NONE`` (no way to force one named tool), answers are content blocks
with ``finish_reason`` in capitals, and usage has ``tokens`` next to ``billed_units``.
Embeddings need an ``input_type``; rerank is already the shape Portkey's ``/rerank``
exposes, minus ``object`` and ``model``.
"""

from __future__ import annotations

from typing import Any

from portcullis_gateway.providers._cohere_stream import CohereStream
from portcullis_gateway.providers._messages import stop_list
from portcullis_gateway.providers._openai_shapes import (
    assistant_message,
    chat_completion,
    choice,
    embeddings_list,
    openai_finish,
    openai_usage,
)
from portcullis_gateway.providers.base import (
    CHAT,
    DROP,
    EMBEDDINGS,
    RERANK,
    AdapterError,
    NativeAdapter,
    Param,
    ParamMap,
    ProviderOptions,
    ProviderRequest,
    ProviderSpec,
    include_usage,
    mapped_json_post,
    now,
)
from portcullis_gateway.providers.errors import normalize_error

NAME = "cohere"
# Embeddings for retrieval: the stored side. Callers embedding queries can send
# input_type: "search_query" (passed through).
DEFAULT_INPUT_TYPE = "search_document"

FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "stop",
    "TIMEOUT": "stop",
}


def _message(message: dict) -> dict:
    role = message.get("role")
    out = {k: v for k, v in message.items() if v is not None and k != "name"}
    if role == "developer":
        out["role"] = "system"
    return out


def _messages(messages: Any, body: dict) -> list[dict]:
    return (
        [_message(m) for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    )


def _tool_choice(choice: Any, body: dict) -> Any:
    if choice == "none":
        return "NONE"
    # Cohere cannot force one named tool; REQUIRED with the caller's tools is closest.
    if choice == "required" or isinstance(choice, dict):
        return "REQUIRED"
    return DROP


def _response_format(fmt: Any, body: dict) -> Any:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return {"type": "json_object", "json_schema": schema} if schema else {"type": "json_object"}
    return DROP


def _consumed(value: Any, body: dict) -> Any:
    return DROP  # read by the stream transformer from the OpenAI body: no note


CHAT_PARAMS: ParamMap = {
    "model": Param("model"),
    "messages": Param("messages", transform=_messages),
    "max_tokens": Param("max_tokens"),
    "max_completion_tokens": Param("max_tokens"),
    "temperature": Param("temperature", min=0),
    "top_p": Param("p", min=0.01, max=0.99),
    "top_k": Param("k", min=0, max=500),
    "stop": Param("stop_sequences", transform=stop_list),
    "seed": Param("seed"),
    "frequency_penalty": Param("frequency_penalty", min=0, max=1),
    "presence_penalty": Param("presence_penalty", min=0, max=1),
    "stream": Param("stream"),
    "stream_options": Param("stream", transform=_consumed),
    "tools": Param("tools"),
    "tool_choice": Param("tool_choice", transform=_tool_choice),
    "response_format": Param("response_format", transform=_response_format),
    "logprobs": Param("logprobs"),
}


def _texts(value: Any, body: dict) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise AdapterError("cohere embeddings take text input only", code="unsupported_input")


EMBED_PARAMS: ParamMap = {
    "model": Param("model"),
    "input": Param("texts", transform=_texts),
    "input_type": Param("input_type", default=DEFAULT_INPUT_TYPE),
    "dimensions": Param("output_dimension"),
    # Cohere answers floats; base64 is rebuilt from them when asked for.
    "encoding_format": Param("embedding_types", transform=_consumed, default=["float"]),
}


def _documents(value: Any, body: dict) -> Any:
    docs = value if isinstance(value, list) else []
    return [d.get("text", "") if isinstance(d, dict) else d for d in docs]


RERANK_PARAMS: ParamMap = {
    "model": Param("model"),
    "query": Param("query"),
    "documents": Param("documents", transform=_documents),
    "top_n": Param("top_n", min=1),
    "max_tokens_per_doc": Param("max_tokens_per_doc"),
    "priority": Param("priority"),
}

_ENDPOINTS = {
    CHAT: ("/chat", CHAT_PARAMS),
    EMBEDDINGS: ("/embed", EMBED_PARAMS),
    RERANK: ("/rerank", RERANK_PARAMS),
}


def usage_from(usage: dict) -> dict:
    # ``tokens`` are the model's real counts; ``billed_units`` what Cohere charges.
    tokens = usage.get("tokens") or usage.get("billed_units") or {}
    return openai_usage(int(tokens.get("input_tokens") or 0), int(tokens.get("output_tokens") or 0))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or () if b.get("type") == "text")


def _chat(body: dict, created: int, strict: bool, request: dict) -> dict:
    message = body.get("message") or {}
    calls = message.get("tool_calls") or []
    out = assistant_message(_text(message.get("content")) if not calls else None, calls)
    if calls and not strict and message.get("tool_plan"):
        out["tool_plan"] = message["tool_plan"]
    finish = openai_finish(FINISH_REASONS, body.get("finish_reason"))
    return chat_completion(
        body.get("id"),
        created,
        request.get("model", ""),
        [choice(out, finish)],
        usage_from(body.get("usage") or {}),
    )


def _embeddings(body: dict, request: dict) -> dict:
    vectors = (body.get("embeddings") or {}).get("float") or []
    tokens = int(((body.get("meta") or {}).get("billed_units") or {}).get("input_tokens") or 0)
    as_base64 = request.get("encoding_format") == "base64"
    return embeddings_list(vectors, request.get("model", ""), tokens, as_base64)


def _rerank(body: dict, request: dict) -> dict:
    units = ((body.get("meta") or {}).get("billed_units") or {}).get("search_units")
    return {
        "id": body.get("id"),
        "object": "list",
        "results": body.get("results") or [],
        "model": request.get("model", ""),
        "usage": {"search_units": units},
        "provider": NAME,
    }


class CohereAdapter(NativeAdapter):
    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        return mapped_json_post("cohere", _ENDPOINTS, openai_body, endpoint, options)

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict:
        if status >= 400 or not isinstance(provider_body, dict):
            return self.map_error(status, provider_body)[1]
        request = request or {}
        if endpoint == EMBEDDINGS:
            return _embeddings(provider_body, request)
        if endpoint == RERANK:
            return _rerank(provider_body, request)
        return _chat(
            provider_body, created if created is not None else now(), strict_openai, request
        )

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> CohereStream:
        return CohereStream(
            include_usage(openai_body),
            created if created is not None else now(),
            str(openai_body.get("model", "")),
            FINISH_REASONS,
            usage_from,
        )

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        return normalize_error(status, provider_body, NAME)


ADAPTER = CohereAdapter()
SPEC = ProviderSpec(
    name=NAME,
    base_url="https://api.cohere.com/v2",
    routes=frozenset(_ENDPOINTS),
    prices_id="cohere",
    adapter=ADAPTER,
)
