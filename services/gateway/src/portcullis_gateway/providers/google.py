"""Google Gemini API (``models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``) <-> OpenAI chat completions.

Facts from Google's API reference: messages are ``contents`` of ``parts`` with roles
``user`` / ``model``; the system prompt is ``systemInstruction``; sampling lives in
``generationConfig``; tools are ``functionDeclarations`` and results
``functionResponse`` parts, matched by function name (Gemini has no call ids, so the
name is found from the assistant turn that made the call); JSON output is
``responseMimeType`` + ``responseSchema``; usage is ``usageMetadata`` with cached and
thinking token counts.
"""

from __future__ import annotations

from typing import Any

from portcullis_gateway.providers._google_stream import GeminiStream
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
    error_body,
    json_arguments,
    openai_usage,
    tool_call,
)
from portcullis_gateway.providers.base import (
    CHAT,
    DROP,
    AdapterError,
    NativeAdapter,
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

NAME = "google"

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
# JSON Schema keywords Gemini's OpenAPI-subset responseSchema refuses.
_SCHEMA_UNSUPPORTED = frozenset({"additionalProperties", "$schema", "$id", "strict"})
_MIME_BY_EXTENSION = {
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "pdf": "application/pdf",
}


def _image(part: dict) -> dict | None:
    url = image_url(part)
    if url is None:
        return None
    inline = parse_data_url(url)
    if inline is not None:
        return {"inlineData": {"mimeType": inline.media_type, "data": inline.data}}
    extension = url.rsplit(".", 1)[-1].lower()
    mime = _MIME_BY_EXTENSION.get(extension, "image/jpeg")
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append({"text": part.get("text", "")})
        elif isinstance(part, dict) and part.get("type") == "image_url":
            image = _image(part)
            if image is not None:
                parts.append(image)
    return parts


def _function_call(call: dict) -> dict:
    args = tool_arguments(call)
    return {"functionCall": {"name": (call.get("function") or {}).get("name"), "args": args}}


def _function_response(message: dict, names: dict[str, str]) -> dict:
    content = message.get("content")
    text = (
        content
        if isinstance(content, str)
        else " ".join(p["text"] for p in _parts(content) if "text" in p)
    )
    name = names.get(message.get("tool_call_id") or "", "")
    return {"functionResponse": {"name": name, "response": {"content": text}}}


def _is_function_response(part: dict) -> bool:
    return "functionResponse" in part


def _contents(messages: Any, body: dict) -> list[dict]:
    out: list[dict] = []
    names: dict[str, str] = {}  # tool_call_id -> function name, from assistant turns
    for message in messages if isinstance(messages, list) else ():
        role = message.get("role")
        if role in SYSTEM_ROLES:
            continue
        if role == "assistant":
            parts = _parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                names[call.get("id") or ""] = (call.get("function") or {}).get("name", "")
                parts.append(_function_call(call))
            out.append({"role": "model", "parts": parts})
        elif role == "tool":
            part = _function_response(message, names)
            add_tool_result(out, part, "parts", _is_function_response)
        elif role == "user":
            out.append({"role": "user", "parts": _parts(message.get("content"))})
    return out


def _system(messages: Any, body: dict) -> Any:
    parts = [part for content in system_contents(messages) for part in _parts(content)]
    return {"parts": parts} if parts else DROP


def _tools(tools: Any, body: dict) -> Any:
    declarations = []
    for tool in tools if isinstance(tools, list) else ():
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict):
            declaration = {"name": function.get("name")}
            if function.get("description"):
                declaration["description"] = function["description"]
            if function.get("parameters"):
                declaration["parameters"] = _schema(function["parameters"])
            declarations.append(declaration)
    return [{"functionDeclarations": declarations}] if declarations else DROP


def _tool_choice(choice: Any, body: dict) -> Any:
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return {"mode": "ANY", "allowedFunctionNames": [name]} if name else DROP
    modes = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
    return {"mode": modes[choice]} if choice in modes else DROP


def _schema(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _schema(v) for k, v in schema.items() if k not in _SCHEMA_UNSUPPORTED}
    if isinstance(schema, list):
        return [_schema(v) for v in schema]
    return schema


def _response_mime(fmt: Any, body: dict) -> Any:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    return "application/json" if kind in ("json_object", "json_schema") else DROP


def _response_schema(fmt: Any, body: dict) -> Any:
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return DROP
    schema = (fmt.get("json_schema") or {}).get("schema")
    return _schema(schema) if schema else DROP


def _consumed(value: Any, body: dict) -> Any:
    return DROP  # model goes in the path, stream picks the method: no note


_CONFIG = "generationConfig."
PARAMS: ParamMap = {
    "model": Param("model", transform=_consumed),
    "stream": Param("stream", transform=_consumed),
    "stream_options": Param("stream", transform=_consumed),
    "messages": (
        Param("contents", transform=_contents),
        Param("systemInstruction", transform=_system),
    ),
    "temperature": Param(_CONFIG + "temperature", min=0, max=2),
    "top_p": Param(_CONFIG + "topP", min=0, max=1),
    "top_k": Param(_CONFIG + "topK"),
    "max_tokens": Param(_CONFIG + "maxOutputTokens"),
    "max_completion_tokens": Param(_CONFIG + "maxOutputTokens"),
    "stop": Param(_CONFIG + "stopSequences", transform=stop_list),
    "n": Param(_CONFIG + "candidateCount", min=1, max=8),
    "presence_penalty": Param(_CONFIG + "presencePenalty"),
    "frequency_penalty": Param(_CONFIG + "frequencyPenalty"),
    "seed": Param(_CONFIG + "seed"),
    "logprobs": Param(_CONFIG + "responseLogprobs"),
    "top_logprobs": Param(_CONFIG + "logprobs"),
    "response_format": (
        Param(_CONFIG + "responseMimeType", transform=_response_mime),
        Param(_CONFIG + "responseSchema", transform=_response_schema),
    ),
    "tools": Param("tools", transform=_tools),
    "tool_choice": Param("toolConfig.functionCallingConfig", transform=_tool_choice),
}


def function_call(call: dict, position: int) -> dict:
    """A ``functionCall`` part as an OpenAI tool call; Gemini gives ids only sometimes."""
    ident = call.get("id") or f"call_{position}"
    return tool_call(ident, call.get("name"), json_arguments(call.get("args")))


def finish_reason(reason: str | None, has_calls: bool) -> str | None:
    if reason is None:
        return None
    return "tool_calls" if has_calls else FINISH_REASONS.get(reason, "stop")


def usage_from(meta: dict) -> dict:
    """OpenAI's completion_tokens include reasoning tokens; Gemini counts thoughts apart."""
    thoughts = meta.get("thoughtsTokenCount")
    completion = (meta.get("candidatesTokenCount") or 0) + (thoughts or 0)
    return openai_usage(
        meta.get("promptTokenCount") or 0,
        completion,
        cached=meta.get("cachedContentTokenCount") or 0,
        reasoning=thoughts,
    )


def _choice(candidate: dict, strict: bool) -> dict:
    text: list[str] = []
    calls: list[dict] = []
    thoughts: list[dict] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if "functionCall" in part:
            calls.append(function_call(part["functionCall"], len(calls)))
        elif part.get("thought"):
            thoughts.append({"type": "thinking", "thinking": part.get("text", "")})
        elif "text" in part:
            text.append(part["text"])
    message = assistant_message("".join(text) if text or not calls else None, calls)
    if thoughts and not strict:
        message["content_blocks"] = thoughts
    finish = finish_reason(candidate.get("finishReason") or "STOP", bool(calls))
    return choice(message, finish, candidate.get("index", 0))


class GoogleAdapter(NativeAdapter):
    def transform_request(
        self, openai_body: dict, endpoint: str, options: ProviderOptions
    ) -> ProviderRequest:
        if endpoint != CHAT:
            raise AdapterError(f"google does not support {endpoint}", "unsupported_endpoint")
        model = openai_body.get("model")
        if not isinstance(model, str) or not model:
            raise AdapterError("model is required", code="missing_model")
        notes: list[str] = []
        body = apply_params(openai_body, PARAMS, notes)
        # Gemini's own model names read "models/gemini-..."; the path adds that prefix.
        model = model.removeprefix("models/")
        if openai_body.get("stream"):
            path = f"/models/{model}:streamGenerateContent?alt=sse"
        else:
            path = f"/models/{model}:generateContent"
        headers = {"content-type": "application/json"}
        if options.api_key:
            headers["x-goog-api-key"] = options.api_key
        return ProviderRequest("POST", path, headers, body, notes)

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
        candidates = provider_body.get("candidates")
        if not candidates:
            # A prompt blocked by safety settings has no candidates at all.
            reason = (provider_body.get("promptFeedback") or {}).get("blockReason", "unknown")
            return error_body(
                f"prompt blocked by google: {reason}", "invalid_request_error", "content_filter"
            )
        return chat_completion(
            provider_body.get("responseId") or "",
            created if created is not None else now(),
            provider_body.get("modelVersion") or "",
            [_choice(c, strict_openai) for c in candidates],
            usage_from(provider_body.get("usageMetadata") or {}),
        )

    def stream_transformer(
        self, openai_body: dict, created: int | None = None, strict_openai: bool = True
    ) -> GeminiStream:
        return GeminiStream(
            include_usage(openai_body),
            created if created is not None else now(),
            strict_openai,
            finish_reason,
            function_call,
            usage_from,
            self.map_error,
        )

    def map_error(self, status: int, provider_body: Any) -> tuple[int, dict]:
        status, body = normalize_error(status, provider_body, NAME)
        inner = provider_body.get("error") if isinstance(provider_body, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("status"), str):
            # Google's error code is the canonical status name (INVALID_ARGUMENT, ...).
            body["error"]["code"] = inner["status"]
        return status, body


ADAPTER = GoogleAdapter()
SPEC = ProviderSpec(
    name=NAME,
    base_url="https://generativelanguage.googleapis.com/v1beta",
    routes=frozenset({CHAT}),
    auth_header="x-goog-api-key",
    auth_scheme="",
    prices_id="google",
    adapter=ADAPTER,
    aliases=("gemini",),
)
