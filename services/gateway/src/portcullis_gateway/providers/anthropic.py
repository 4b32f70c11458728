"""Anthropic Messages API (``POST /v1/messages``) <-> OpenAI chat completions.

Facts from Anthropic's API reference: the system prompt is a top-level field, not a
message; ``max_tokens`` is required; tool calls are ``tool_use`` content blocks and
their results ``tool_result`` blocks in a user message; usage counts cache reads and
writes apart from ``input_tokens``. JSON output has no native switch, so
``response_format`` becomes a forced tool (json_schema) or a system instruction
(json_object), as the Portkey gateway does.
"""

from __future__ import annotations

from typing import Any

import msgspec

from portcullis_gateway.providers._anthropic_stream import AnthropicStream
from portcullis_gateway.providers._messages import (
    SYSTEM_ROLES,
    add_tool_result,
    image_url,
    parse_data_url,
    stop_list,
    system_contents,
    tool_arguments,
)
from portcullis_gateway.providers._openai_shapes import (
    assistant_message,
    chat_completion,
    choice,
    json_arguments,
    openai_finish,
    openai_usage,
    tool_call,
)
from portcullis_gateway.providers.base import (
    CHAT,
    DROP,
    AdapterError,
    NativeAdapter,
    Option,
    Param,
    ParamMap,
    ProviderOptions,
    ProviderRequest,
    ProviderSpec,
    apply_params,
    include_usage,
    now,
)
from portcullis_gateway.providers.errors import normalize_error

NAME = "anthropic"
API_VERSION = "2023-06-01"
# Anthropic requires max_tokens; this is what a caller who sent none gets.
DEFAULT_MAX_TOKENS = 4096
# The forced tool that carries a json_schema response_format; its input is the answer.
JSON_TOOL = "json_response"
JSON_OBJECT_INSTRUCTION = "Respond only with a single valid JSON object and no other text."

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

_encode = msgspec.json.encode


def _cache(part: dict) -> dict:
    return {"cache_control": part["cache_control"]} if "cache_control" in part else {}


def _image(part: dict) -> dict | None:
    url = image_url(part)
    if url is None:
        return None
    inline = parse_data_url(url)
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": url}, **_cache(part)}
    kind = "document" if inline.media_type == "application/pdf" else "image"
    source = {"type": "base64", "media_type": inline.media_type, "data": inline.data}
    return {"type": kind, "source": source, **_cache(part)}


def _blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict] = []
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            blocks.append({"type": "text", "text": part.get("text", ""), **_cache(part)})
        elif part.get("type") == "image_url":
            image = _image(part)
            if image is not None:
                blocks.append(image)
    return blocks


def _tool_use(call: dict) -> dict:
    arguments = tool_arguments(call)
    name = (call.get("function") or {}).get("name")
    return {"type": "tool_use", "id": call.get("id"), "name": name, "input": arguments}


def _assistant(message: dict) -> dict:
    # content_blocks (thinking blocks kept by a non-strict caller) go back verbatim:
    # Anthropic needs the signed thinking block before a tool_use it led to.
    blocks = message.get("content_blocks")
    content = list(blocks) if isinstance(blocks, list) else _blocks(message.get("content"))
    content.extend(_tool_use(call) for call in message.get("tool_calls") or ())
    return {"role": "assistant", "content": content or message.get("content") or ""}


def _tool_result(message: dict) -> dict:
    content = message.get("content")
    result = content if isinstance(content, str) else _blocks(content)
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": result}


def _is_tool_result(block: dict) -> bool:
    return block.get("type") == "tool_result"


def _messages(messages: Any, body: dict) -> list[dict]:
    out: list[dict] = []
    for message in messages if isinstance(messages, list) else ():
        role = message.get("role")
        if role in SYSTEM_ROLES:
            continue
        if role == "assistant":
            out.append(_assistant(message))
        elif role == "tool":
            add_tool_result(out, _tool_result(message), "content", _is_tool_result)
        elif role == "user":
            content = message.get("content")
            out.append(
                {
                    "role": "user",
                    "content": content if isinstance(content, str) else _blocks(content),
                }
            )
    return out


def _system(messages: Any, body: dict) -> Any:
    blocks = [block for content in system_contents(messages) for block in _blocks(content)]
    return blocks or DROP


def _tools(tools: Any, body: dict) -> Any:
    out = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            continue
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        entry = {"name": function.get("name"), "input_schema": schema, **_cache(tool)}
        if function.get("description"):
            entry["description"] = function["description"]
        out.append(entry)
    return out or DROP


def _tool_choice(choice: Any, body: dict) -> Any:
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return {"type": "tool", "name": name} if name else DROP
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}.get(
        choice, DROP
    )


def _consumed(value: Any, body: dict) -> Any:
    # Handled elsewhere (after the map, or by the stream transformer): no note.
    return DROP


PARAMS: ParamMap = {
    "model": Param("model"),
    "messages": (Param("messages", transform=_messages), Param("system", transform=_system)),
    "max_tokens": Param("max_tokens", default=DEFAULT_MAX_TOKENS),
    "max_completion_tokens": Param("max_tokens"),
    "temperature": Param("temperature", min=0, max=1),
    "top_p": Param("top_p", min=0, max=1),
    "top_k": Param("top_k", min=0),
    "stop": Param("stop_sequences", transform=stop_list),
    "stream": Param("stream"),
    "stream_options": Param("stream", transform=_consumed),
    "user": Param("metadata.user_id"),
    "tools": Param("tools", transform=_tools),
    "tool_choice": Param("tool_choice", transform=_tool_choice),
    "parallel_tool_calls": Param("tool_choice", transform=_consumed),
    "response_format": Param("tools", transform=_consumed),
    "thinking": Param("thinking"),
}


def _response_format(body: dict, out: dict, notes: list[str]) -> None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return
    if fmt.get("type") == "json_object":
        out.setdefault("system", []).append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
        notes.append("response_format json_object sent as a system instruction")
        return
    schema = fmt.get("json_schema") or {}
    tool = {
        "name": JSON_TOOL,
        "description": schema.get("description") or "Respond with JSON matching this schema.",
        "input_schema": schema.get("schema") or {"type": "object"},
    }
    out.setdefault("tools", []).append(tool)
    out["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    notes.append("response_format json_schema sent as a forced tool call")


class AnthropicAdapter(NativeAdapter):
    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        if endpoint != CHAT:
            raise AdapterError(f"anthropic does not support {endpoint}", "unsupported_endpoint")
        notes: list[str] = []
        body = apply_params(openai_body, PARAMS, notes)
        if openai_body.get("parallel_tool_calls") is False and "tools" in body:
            body.setdefault("tool_choice", {"type": "auto"})["disable_parallel_tool_use"] = True
        _response_format(openai_body, body, notes)
        headers = {
            "content-type": "application/json",
            "anthropic-version": options.headers.get("anthropic-version", API_VERSION),
        }
        if "anthropic-beta" in options.headers:
            headers["anthropic-beta"] = options.headers["anthropic-beta"]
        if options.api_key:
            headers["x-api-key"] = options.api_key
        return ProviderRequest("POST", "/messages", headers, body, notes)

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict:
        if status >= 400 or not isinstance(provider_body, dict) or "content" not in provider_body:
            return self.map_error(status, provider_body)[1]
        text: list[str] = []
        calls: list[dict] = []
        for block in provider_body.get("content") or ():
            kind = block.get("type")
            if kind == "text":
                text.append(block.get("text", ""))
            elif kind == "tool_use" and block.get("name") == JSON_TOOL:
                text.append(_encode(block.get("input")).decode())
            elif kind == "tool_use":
                arguments = json_arguments(block.get("input"))
                calls.append(tool_call(block.get("id"), block.get("name"), arguments))
        message = assistant_message("".join(text) if text or not calls else None, calls)
        if not strict_openai:
            blocks = [b for b in provider_body["content"] if b.get("type") != "tool_use"]
            message["content_blocks"] = blocks
        finish = openai_finish(FINISH_REASONS, provider_body.get("stop_reason"))
        if finish == "tool_calls" and not calls:
            finish = "stop"  # the forced json_schema tool is an answer, not a call
        return chat_completion(
            provider_body.get("id"),
            created if created is not None else now(),
            provider_body.get("model"),
            [choice(message, finish)],
            usage_from(provider_body.get("usage") or {}),
        )

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> AnthropicStream:
        return AnthropicStream(
            include_usage(openai_body),
            created if created is not None else now(),
            strict_openai,
            FINISH_REASONS,
            JSON_TOOL,
            usage_from,
        )

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        return normalize_error(status, provider_body, NAME)


def usage_from(usage: dict) -> dict:
    """Anthropic counts cache reads and writes apart from input_tokens; OpenAI's
    prompt_tokens includes them, with reads as cached_tokens (how genai-prices and the
    gateway's cost expect them)."""
    read = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + read + written
    out = openai_usage(prompt, usage.get("output_tokens") or 0, cached=read)
    if written:
        out["prompt_tokens_details"]["cache_creation_tokens"] = written
    return out


ADAPTER = AnthropicAdapter()
SPEC = ProviderSpec(
    name=NAME,
    base_url="https://api.anthropic.com/v1",
    routes=frozenset({CHAT}),
    auth_header="x-api-key",
    auth_scheme="",
    prices_id="anthropic",
    adapter=ADAPTER,
    options=(Option("anthropic-version"), Option("anthropic-beta")),
)
