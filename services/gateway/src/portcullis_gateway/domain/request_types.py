"""The types of the request fields the gateway itself reads, where bodies enter: the
OpenAI bodies the provider adapters translate (chat, completions, embeddings, rerank)
and the Anthropic Messages body ``messages_api`` translates. Converting a decoded body
to its Struct checks those fields (a 400 naming the first wrong one) before code that
trusts them runs; fields not listed are not looked at, so what a provider takes and
the gateway does not read still passes. Only types are checked, as loosely as the
readers are: what a value means stays the provider's to judge."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from portcullis_gateway.domain.json_input import field_error
from portcullis_gateway.providers.base import CHAT, COMPLETIONS, EMBEDDINGS, RERANK

# --- OpenAI ---------------------------------------------------------------------------


class _ImageURL(Struct):
    url: str
    detail: str | None = None


class _Part(Struct):
    type: str
    text: str | None = None
    # An object with ``url``, or the bare string some clients send.
    image_url: _ImageURL | str | None = None


class _FunctionCall(Struct):
    name: str | None = None
    arguments: str | None = None  # JSON text, decoded by the adapters


class _ToolCall(Struct):
    function: _FunctionCall
    id: str | None = None
    type: str | None = None


class _ChatMessage(Struct):
    role: str
    content: str | list[_Part] | None = None
    name: str | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None
    # The gateway's own extension: Anthropic blocks given as they are.
    content_blocks: list[dict[str, Any]] | None = None


class _FunctionDef(Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _Tool(Struct):
    # None for tools that are not functions (OpenAI's ``custom`` tools): adapters skip
    # them, OpenAI-format providers judge them.
    function: _FunctionDef | None = None
    type: str | None = None


class _ToolChoice(Struct):
    type: str
    function: _FunctionCall | None = None


class _JSONSchema(Struct):
    name: str | None = None
    description: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class _ResponseFormat(Struct):
    type: str
    json_schema: _JSONSchema | None = None


class _StreamOptions(Struct):
    include_usage: bool | None = None


class _Sampling(Struct):
    """The fields every generating endpoint shares."""

    model: str | None = None
    stream: bool | None = None
    stream_options: _StreamOptions | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    user: str | None = None


class ChatRequest(_Sampling, kw_only=True):
    messages: list[_ChatMessage]
    max_completion_tokens: int | None = None
    tools: list[_Tool] | None = None
    tool_choice: str | _ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: _ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None


# A text, a list of texts, token ids or lists of token ids.
_Texts = str | list[str | int | list[int]]


class CompletionRequest(_Sampling):
    prompt: _Texts | None = None


class EmbeddingsRequest(Struct, kw_only=True):
    input: _Texts
    model: str | None = None
    dimensions: int | None = None
    encoding_format: str | None = None
    user: str | None = None


class RerankRequest(Struct, kw_only=True):
    query: str
    documents: list[str | dict[str, Any]]
    model: str | None = None
    top_n: int | None = None
    return_documents: bool | None = None


OPENAI_REQUESTS: dict[str, type[Struct]] = {
    CHAT: ChatRequest,
    COMPLETIONS: CompletionRequest,
    EMBEDDINGS: EmbeddingsRequest,
    RERANK: RerankRequest,
}

# --- Anthropic Messages ---------------------------------------------------------------


class _Source(Struct):
    type: str
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class _Block(Struct):
    type: str
    text: str | None = None
    source: _Source | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None
    tool_use_id: str | None = None
    # A tool_result's content: a text or blocks of its own.
    content: str | list[_Block] | None = None


class _Message(Struct):
    role: str
    content: str | list[_Block]


class _AnthropicTool(Struct):
    name: str
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None


class _AnthropicToolChoice(Struct):
    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class _Metadata(Struct):
    user_id: str | None = None


class MessagesRequest(Struct, kw_only=True):
    model: str
    messages: list[_Message]
    system: str | list[_Block] | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: list[_AnthropicTool] | None = None
    tool_choice: _AnthropicToolChoice | None = None
    metadata: _Metadata | None = None


def check_fields(body: dict, shape: type[Struct] | None) -> None:
    """A 400 naming the first field of ``body`` whose type ``shape`` refuses (None:
    nothing to check)."""
    if shape is None:
        return
    try:
        msgspec.convert(body, shape)
    except msgspec.ValidationError as exc:
        raise field_error(exc) from None
