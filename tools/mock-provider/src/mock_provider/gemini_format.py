"""Google Gemini's wire format (``models/{model}:generateContent`` and
``:streamGenerateContent``), built from a request: GenerateContentResponse JSON, its
stream (SSE with ``alt=sse``, else one JSON array) and Google-style error bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mock_provider.openai_format import encode, new_id, split_reply, words

# /v1beta/models/gemini-2.0-flash:generateContent (also /v1/...)
ROUTE = re.compile(r"^/v1(?:beta)?/models/([^/:]+):(generateContent|streamGenerateContent)$")

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_body(status: int, message: str | None) -> dict:
    name = STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": message or f"mock error {status}", "status": name}}


def error_event(message: str | None) -> bytes:
    return b"data: " + encode(error_body(503, message or "The model is overloaded.")) + b"\r\n\r\n"


def _text(parts: object) -> str:
    if not isinstance(parts, list):
        return ""
    return " ".join(
        p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    )


def last_user_text(body: dict) -> str:
    for content in reversed(body.get("contents") or []):
        if isinstance(content, dict) and content.get("role", "user") == "user":
            text = _text(content.get("parts"))
            if text:
                return text
    return ""


def input_words(body: dict) -> int:
    system = body.get("systemInstruction") or {}
    total = words(_text(system.get("parts")))
    for content in body.get("contents") or []:
        if isinstance(content, dict):
            total += words(_text(content.get("parts")))
    return total


def problem(body: dict) -> str | None:
    """What the real API refuses with a 400, for the fields adapters must get right."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return "* GenerateContentRequest.contents: contents is not specified"
    for content in contents:
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            return "Please use a valid role: user, model."
    return None


def chosen_function(body: dict) -> str | None:
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
    if mode == "NONE":
        return None
    for tool in body.get("tools") or []:
        for declaration in (tool or {}).get("functionDeclarations") or []:
            return declaration.get("name")
    return None


def _usage(body: dict, output: int | None) -> dict:
    prompt = input_words(body)
    usage = {"promptTokenCount": prompt, "totalTokenCount": prompt + (output or 0)}
    if output is not None:
        usage["candidatesTokenCount"] = output
    return usage


def _response(parts: list[dict], finish: str | None, usage: dict, model: str, ident: str) -> dict:
    candidate: dict = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": ident,
    }


def response(body: dict, model: str, reply: str) -> dict:
    function = chosen_function(body)
    if function is not None:
        args = {"echo": last_user_text(body)}
        parts = [{"functionCall": {"name": function, "args": args}}]
        output = words(encode(args).decode())
    else:
        parts, output = [{"text": reply}], words(reply)
    return _response(parts, "STOP", _usage(body, output), model, new_id("resp"))


def stream(body: dict, model: str, reply: str, pieces: int | None) -> Iterator[dict]:
    """Stream events: text slices with cumulative usage, the last with finishReason."""
    ident = new_id("resp")
    function = chosen_function(body)
    if function is not None:
        yield response(body, model, reply) | {"responseId": ident}
        return
    parts = split_reply(reply, pieces)
    sent = 0
    for position, part in enumerate(parts):
        sent += words(part)
        last = position == len(parts) - 1
        usage = _usage(body, sent if last else None)
        yield _response([{"text": part}], "STOP" if last else None, usage, model, ident)
