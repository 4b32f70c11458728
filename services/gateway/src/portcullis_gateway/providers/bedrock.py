"""Amazon Bedrock Converse API (``/model/{modelId}/converse`` and ``/converse-stream``)
<-> OpenAI chat completions.

Facts from the Bedrock API reference: one request shape for every model family;
``system`` is a list of text blocks; message content blocks are ``text``, ``image``
(bytes, base64 in JSON; no URLs), ``toolUse`` and ``toolResult``; sampling lives in
``inferenceConfig``; tools in ``toolConfig`` (``toolSpec.inputSchema.json``); usage counts
cache reads and writes apart from ``inputTokens``. The stream is the AWS binary event
stream (``framing.AWSEventStreamDecoder``) of ``messageStart``, ``contentBlockStart``,
``contentBlockDelta``, ``contentBlockStop``, ``messageStop`` and ``metadata`` (usage),
or an exception frame. Auth: a Bedrock API key as a Bearer; SigV4 signing with IAM
credentials is the request path's job (it needs the final URL and the clock).
Embeddings go through ``InvokeModel`` instead (``_bedrock_embeddings``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from portcullis_gateway.providers._bedrock_embeddings import embeddings_answer, params_for
from portcullis_gateway.providers._bedrock_stream import BedrockStream
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
    EMBEDDINGS,
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

NAME = "bedrock"
DEFAULT_REGION = "us-east-1"

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}


def _image(part: dict) -> dict:
    inline = parse_data_url(image_url(part) or "")
    fmt = _IMAGE_FORMATS.get(inline.media_type) if inline is not None else None
    if inline is not None and fmt is not None:
        return {"image": {"format": fmt, "source": {"bytes": inline.data}}}
    # Bedrock reads images from the request (or S3), never from a URL.
    raise AdapterError(
        "bedrock takes images as base64 data URLs (png, jpeg, gif, webp) only",
        code="unsupported_image",
    )


def _blocks(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict] = []
    for part in content if isinstance(content, list) else ():
        if part.get("type") == "text":
            blocks.append({"text": part.get("text", "")})
        elif part.get("type") == "image_url":
            blocks.append(_image(part))
    return blocks


def _tool_use(call: dict) -> dict:
    arguments = tool_arguments(call)
    name = (call.get("function") or {}).get("name")
    return {"toolUse": {"toolUseId": call.get("id"), "name": name, "input": arguments}}


def _is_tool_result(block: dict) -> bool:
    return "toolResult" in block


def _messages(messages: Any, body: dict) -> list[dict]:
    out: list[dict] = []
    for message in messages if isinstance(messages, list) else ():
        role = message.get("role")
        if role in SYSTEM_ROLES:
            continue
        if role == "assistant":
            content = _blocks(message.get("content"))
            content.extend(_tool_use(c) for c in message.get("tool_calls") or ())
            out.append({"role": "assistant", "content": content})
        elif role == "tool":
            text = message.get("content")
            result_content = [{"text": text}] if isinstance(text, str) else _blocks(text)
            result = {
                "toolResult": {"toolUseId": message.get("tool_call_id"), "content": result_content}
            }
            add_tool_result(out, result, "content", _is_tool_result)
        elif role == "user":
            out.append({"role": "user", "content": _blocks(message.get("content"))})
    return out


def _system(messages: Any, body: dict) -> Any:
    blocks = [block for content in system_contents(messages) for block in _blocks(content)]
    return blocks or DROP


def _tools(tools: Any, body: dict) -> Any:
    specs = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict):
            schema = function.get("parameters") or {"type": "object", "properties": {}}
            spec = {"name": function.get("name"), "inputSchema": {"json": schema}}
            if function.get("description"):
                spec["description"] = function["description"]
            specs.append({"toolSpec": spec})
    return specs or DROP


def _tool_choice(choice: Any, body: dict) -> Any:
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return {"tool": {"name": name}} if name else DROP
    # Converse has no "none": the caller's tools stay available (auto).
    return {"auto": {"auto": {}}, "required": {"any": {}}}.get(choice, DROP)


def _consumed(value: Any, body: dict) -> Any:
    return DROP  # model goes in the path, stream picks it: no note


PARAMS: ParamMap = {
    "model": Param("model", transform=_consumed),
    "stream": Param("stream", transform=_consumed),
    "stream_options": Param("stream", transform=_consumed),
    "messages": (Param("messages", transform=_messages), Param("system", transform=_system)),
    "max_tokens": Param("inferenceConfig.maxTokens"),
    "max_completion_tokens": Param("inferenceConfig.maxTokens"),
    "temperature": Param("inferenceConfig.temperature", min=0, max=1),
    "top_p": Param("inferenceConfig.topP", min=0, max=1),
    "stop": Param("inferenceConfig.stopSequences", transform=stop_list),
    "top_k": Param("additionalModelRequestFields.top_k"),
    "tools": Param("toolConfig.tools", transform=_tools),
    "tool_choice": Param("toolConfig.toolChoice", transform=_tool_choice),
}


def usage_from(usage: dict) -> dict:
    read = usage.get("cacheReadInputTokens") or 0
    written = usage.get("cacheWriteInputTokens") or 0
    prompt = (usage.get("inputTokens") or 0) + read + written
    return openai_usage(prompt, usage.get("outputTokens") or 0, cached=read)


def _tool_call(block: dict, position: int) -> dict:
    ident = block.get("toolUseId") or f"call_{position}"
    return tool_call(ident, block.get("name"), json_arguments(block.get("input")))


class BedrockAdapter(NativeAdapter):
    stream_framing = "aws-eventstream"
    # InvokeModel (embeddings) reports the input token count in this header only.
    input_tokens_header = "x-amzn-bedrock-input-token-count"

    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        if endpoint not in (CHAT, EMBEDDINGS):
            raise AdapterError(f"bedrock does not support {endpoint} yet", "unsupported_endpoint")
        model = openai_body.get("model")
        if not isinstance(model, str) or not model:
            raise AdapterError("model is required", code="missing_model")
        notes: list[str] = []
        if endpoint == EMBEDDINGS:
            body = apply_params(openai_body, params_for(model), notes)
            action = "invoke"
        else:
            body = apply_params(openai_body, PARAMS, notes)
            if "toolChoice" in body.get("toolConfig", {}) and "tools" not in body["toolConfig"]:
                del body["toolConfig"]  # a choice without tools is refused by Bedrock
            action = "converse-stream" if openai_body.get("stream") else "converse"
        region = options.headers.get("aws-region") or DEFAULT_REGION
        # Model ids and ARNs carry ":" and "/": the path takes them percent-encoded.
        path = f"/model/{quote(model, safe='')}/{action}"
        headers = {"content-type": "application/json"}
        if options.api_key:
            headers["authorization"] = "Bearer " + options.api_key
        base = f"https://bedrock-runtime.{quote(region, safe='')}.amazonaws.com"
        return ProviderRequest("POST", path, headers, body, notes, base_url=base)

    def transform_response(
        self,
        status: int,
        provider_body: Any,
        endpoint: str,
        created: int | None = None,
        strict_openai: bool = True,
        request: dict | None = None,
    ) -> dict:
        if endpoint == EMBEDDINGS:
            answer = embeddings_answer(provider_body, request or {}) if status < 400 else None
            return answer if answer is not None else self.map_error(status, provider_body)[1]
        if status >= 400 or not isinstance(provider_body, dict) or "output" not in provider_body:
            return self.map_error(status, provider_body)[1]
        created = created if created is not None else now()
        content = ((provider_body.get("output") or {}).get("message") or {}).get("content") or []
        text = [b["text"] for b in content if "text" in b]
        calls = [
            _tool_call(b["toolUse"], i) for i, b in enumerate(c for c in content if "toolUse" in c)
        ]
        message = assistant_message("".join(text) if text or not calls else None, calls)
        reasoning = [b["reasoningContent"] for b in content if "reasoningContent" in b]
        if reasoning and not strict_openai:
            message["content_blocks"] = [
                {"type": "thinking", **(r.get("reasoningText") or {})} for r in reasoning
            ]
        finish = openai_finish(FINISH_REASONS, provider_body.get("stopReason"))
        return chat_completion(
            # Converse answers carry no id (it is in the x-amzn-requestid header).
            f"chatcmpl-bedrock-{created}",
            created,
            (request or {}).get("model", ""),
            [choice(message, finish)],
            usage_from(provider_body.get("usage") or {}),
        )

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> BedrockStream:
        created = created if created is not None else now()
        return BedrockStream(
            include_usage(openai_body),
            created,
            str(openai_body.get("model", "")),
            strict_openai,
            FINISH_REASONS,
            usage_from,
        )

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        # Bedrock errors are {"message": "..."} with the kind in x-amzn-errortype.
        return normalize_error(status, provider_body, NAME)


ADAPTER = BedrockAdapter()
SPEC = ProviderSpec(
    name=NAME,
    # The host depends on the region: no pass-through until the request path uses this.
    base_url=f"https://bedrock-runtime.{DEFAULT_REGION}.amazonaws.com",
    routes=frozenset({CHAT, EMBEDDINGS}),
    cloud_auth="aws",
    default_region=DEFAULT_REGION,
    prices_id="aws",
    adapter=ADAPTER,
    aliases=("aws-bedrock",),
    # IAM keys sign the call with SigV4 (adapters.cloud_credentials); without them the
    # key is a Bedrock API key, sent as the Bearer.
    options=(
        Option("aws-access-key-id", secret=True),
        Option("aws-secret-access-key", secret=True),
        Option("aws-session-token", secret=True),
        Option("aws-region"),
    ),
)
