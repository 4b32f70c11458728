"""Ollama's native API (``/api/chat``, ``/api/embed``, NDJSON streaming) <-> OpenAI shapes.

Facts from Ollama's API docs: a message's content is one string with images as a list
of bare base64 strings next to it; sampling goes under ``options`` (``num_predict`` is
max_tokens); ``stream`` defaults to *true*, so it is always sent; tool calls carry
arguments as an object and no id; ``format`` is ``"json"`` or a JSON schema; the final
stream line (``done: true``) holds ``prompt_eval_count`` / ``eval_count``.
"""

from __future__ import annotations

from typing import Any

from portcullis_gateway.providers._messages import (
    SYSTEM_ROLES,
    image_url,
    parse_data_url,
    stop_list,
    tool_arguments,
)
from portcullis_gateway.providers._ollama_stream import (
    OllamaStream,
    finish_reason,
    tool_calls,
    usage_from,
)
from portcullis_gateway.providers._openai_shapes import (
    assistant_message,
    chat_completion,
    choice,
    embeddings_list,
)
from portcullis_gateway.providers.base import (
    CHAT,
    DROP,
    EMBEDDINGS,
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

NAME = "ollama"


def _content(content: Any) -> tuple[str, list[str]]:
    if isinstance(content, str) or content is None:
        return content or "", []
    text: list[str] = []
    images: list[str] = []
    for part in content:
        if part.get("type") == "text":
            text.append(part.get("text", ""))
        elif part.get("type") == "image_url":
            inline = parse_data_url(image_url(part) or "")
            if inline is None:
                # Ollama cannot fetch URLs; refusing beats silently dropping the image.
                raise AdapterError(
                    "ollama takes images as base64 data URLs only", code="unsupported_image"
                )
            images.append(inline.data)
    return "\n".join(text), images


def _messages(messages: Any, body: dict) -> list[dict]:
    out: list[dict] = []
    names: dict[str, str | None] = {}  # tool_call_id -> function name
    for message in messages if isinstance(messages, list) else ():
        # Ollama knows no developer role; it is the system prompt by another name.
        role = "system" if message.get("role") in SYSTEM_ROLES else message.get("role")
        text, images = _content(message.get("content"))
        entry: dict = {"role": role, "content": text}
        if images:
            entry["images"] = images
        if message.get("tool_calls"):
            entry["tool_calls"] = []
            for call in message["tool_calls"]:
                name = (call.get("function") or {}).get("name")
                names[call.get("id") or ""] = name
                function = {"name": name, "arguments": tool_arguments(call)}
                entry["tool_calls"].append({"function": function})
        if role == "tool" and message.get("tool_call_id") in names:
            entry["tool_name"] = names[message["tool_call_id"]]
        out.append(entry)
    return out


def _format(fmt: Any, body: dict) -> Any:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return "json"
    if kind == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or "json"
    return DROP


def _consumed(value: Any, body: dict) -> Any:
    return DROP


CHAT_PARAMS: ParamMap = {
    "model": Param("model"),
    "messages": Param("messages", transform=_messages),
    # Ollama streams unless told otherwise.
    "stream": Param("stream", default=False),
    "stream_options": Param("stream", transform=_consumed),
    "temperature": Param("options.temperature", min=0),
    "top_p": Param("options.top_p", min=0, max=1),
    "top_k": Param("options.top_k"),
    "max_tokens": Param("options.num_predict"),
    "max_completion_tokens": Param("options.num_predict"),
    "stop": Param("options.stop", transform=stop_list),
    "seed": Param("options.seed"),
    "frequency_penalty": Param("options.frequency_penalty"),
    "presence_penalty": Param("options.presence_penalty"),
    "tools": Param("tools"),
    "response_format": Param("format", transform=_format),
}
EMBED_PARAMS: ParamMap = {
    "model": Param("model"),
    "input": Param("input"),
    "dimensions": Param("dimensions"),
    "encoding_format": Param("input", transform=_consumed),
}
_ENDPOINTS = {CHAT: ("/api/chat", CHAT_PARAMS), EMBEDDINGS: ("/api/embed", EMBED_PARAMS)}


class OllamaAdapter(NativeAdapter):
    stream_framing = "ndjson"

    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        # Ollama itself takes no key; a proxy in front of it may still want one.
        return mapped_json_post("ollama", _ENDPOINTS, openai_body, endpoint, options)

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict:
        if status >= 400 or not isinstance(provider_body, dict) or "error" in provider_body:
            return self.map_error(status, provider_body)[1]
        if endpoint == EMBEDDINGS:
            vectors = provider_body.get("embeddings") or []
            tokens = int(provider_body.get("prompt_eval_count") or 0)
            as_base64 = (request or {}).get("encoding_format") == "base64"
            return embeddings_list(vectors, provider_body.get("model", ""), tokens, as_base64)
        created = created if created is not None else now()
        source = provider_body.get("message") or {}
        calls = tool_calls(source.get("tool_calls") or [])
        message = assistant_message(source.get("content", "") if not calls else None, calls)
        if source.get("thinking") and not strict_openai:
            message["content_blocks"] = [{"type": "thinking", "thinking": source["thinking"]}]
        return chat_completion(
            # Ollama gives no id; one derived from the time keeps answers distinguishable.
            f"chatcmpl-ollama-{created}",
            created,
            provider_body.get("model", ""),
            [choice(message, finish_reason(provider_body, bool(calls)))],
            usage_from(provider_body),
        )

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> OllamaStream:
        created = created if created is not None else now()
        return OllamaStream(include_usage(openai_body), created, strict_openai)

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        return normalize_error(status, provider_body, NAME)


ADAPTER = OllamaAdapter()
SPEC = ProviderSpec(
    name=NAME,
    base_url="http://127.0.0.1:11434",
    routes=frozenset(_ENDPOINTS),
    prices_id=None,
    adapter=ADAPTER,
)
