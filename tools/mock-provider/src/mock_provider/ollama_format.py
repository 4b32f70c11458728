"""Ollama's native wire format, built from a request: ``/api/chat`` (JSON, or NDJSON
lines when ``stream`` is not false, Ollama's default) and ``/api/embed``; errors are
``{"error": "..."}``."""

from __future__ import annotations

from collections.abc import Iterator

from mock_provider.openai_format import embedding_vector, encode, split_reply, words

CREATED_AT = "2025-01-01T00:00:00.000000Z"


def error_body(status: int, message: str | None) -> dict:
    return {"error": message or f"mock error {status}"}


def line(payload: dict) -> bytes:
    return encode(payload) + b"\n"


def error_line(message: str | None) -> bytes:
    return line(error_body(500, message or "mock stream failure"))


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return str(message.get("content") or "")
    return ""


def _prompt(body: dict) -> int:
    return sum(words(str(m.get("content") or "")) for m in body.get("messages") or [])


def _tool(body: dict) -> dict | None:
    tools = body.get("tools")
    return (tools[0] or {}).get("function") if tools else None


def _done(body: dict, output: int, message: dict) -> dict:
    return {
        "model": body.get("model", "mock"),
        "created_at": CREATED_AT,
        "message": message,
        "done": True,
        "done_reason": "stop",
        "total_duration": 1000,
        "prompt_eval_count": _prompt(body),
        "eval_count": output,
    }


def chat(body: dict, reply: str) -> dict:
    tool = _tool(body)
    if tool is None:
        return _done(body, words(reply), {"role": "assistant", "content": reply})
    call = {"function": {"name": tool.get("name"), "arguments": {"echo": last_user_text(body)}}}
    return _done(body, 1, {"role": "assistant", "content": "", "tool_calls": [call]})


def chat_stream(body: dict, reply: str, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    model = body.get("model", "mock")
    tool = _tool(body)
    if tool is not None:
        yield line(chat(body, reply) | {"done": False}), True
        yield line(_done(body, 1, {"role": "assistant", "content": ""})), False
        return
    for part in split_reply(reply, pieces):
        message = {"role": "assistant", "content": part}
        yield (
            line({"model": model, "created_at": CREATED_AT, "message": message, "done": False}),
            True,
        )
    yield line(_done(body, words(reply), {"role": "assistant", "content": ""})), False


def embed(body: dict) -> dict:
    raw = body.get("input", "")
    inputs = raw if isinstance(raw, list) else [raw]
    dims = body.get("dimensions") or 16
    return {
        "model": body.get("model", "mock"),
        "embeddings": [embedding_vector(str(t), dims) for t in inputs],
        "total_duration": 1000,
        "prompt_eval_count": sum(words(str(t)) for t in inputs),
    }
