"""Cohere API v2's wire format, built from a request: ``/v2/chat`` (JSON and its SSE
events), ``/v2/embed`` and ``/v2/rerank``, and Cohere's ``{"message": ...}`` errors."""

from __future__ import annotations

from collections.abc import Iterator

from mock_provider.openai_format import (
    embedding_vector,
    encode,
    new_id,
    split_reply,
    tool_arguments,
    words,
)


def error_body(status: int, message: str | None) -> dict:
    return {"message": message or f"mock error {status}"}


def event(payload: dict) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + encode(payload) + b"\n\n"


def error_event(message: str | None) -> bytes:
    return event({"type": "error", "error": {"message": message or "mock stream failure"}})


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _usage(body: dict, output: int) -> dict:
    prompt = sum(words(_text(m.get("content"))) for m in body.get("messages") or [])
    counts = {"input_tokens": prompt, "output_tokens": output}
    return {"billed_units": counts, "tokens": counts}


def _tool(body: dict) -> dict | None:
    tools = body.get("tools")
    if not tools or body.get("tool_choice") == "NONE":
        return None
    return (tools[0] or {}).get("function")


def chat(body: dict, reply: str) -> dict:
    tool = _tool(body)
    if tool is None:
        message: dict = {"role": "assistant", "content": [{"type": "text", "text": reply}]}
        return {
            "id": new_id("co"),
            "finish_reason": "COMPLETE",
            "message": message,
            "usage": _usage(body, words(reply)),
        }
    args = tool_arguments(last_user_text(body))
    call = {
        "id": "call_mock1",
        "type": "function",
        "function": {"name": tool.get("name"), "arguments": args},
    }
    message = {"role": "assistant", "tool_plan": "I will call the tool.", "tool_calls": [call]}
    return {
        "id": new_id("co"),
        "finish_reason": "TOOL_CALL",
        "message": message,
        "usage": _usage(body, words(args)),
    }


def chat_stream(body: dict, reply: str, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    """SSE events, each with whether it carries content (for the knobs)."""
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    yield event({"id": new_id("co"), "type": "message-start", "delta": {"message": start}}), False
    tool = _tool(body)
    if tool is None:
        content = {"content": {"type": "text", "text": ""}}
        yield event({"type": "content-start", "index": 0, "delta": {"message": content}}), False
        for part in split_reply(reply, pieces):
            delta = {"message": {"content": {"text": part}}}
            yield event({"type": "content-delta", "index": 0, "delta": delta}), True
        yield event({"type": "content-end", "index": 0}), False
        finish, output = "COMPLETE", words(reply)
    else:
        args = tool_arguments(last_user_text(body))
        call = {
            "id": "call_mock1",
            "type": "function",
            "function": {"name": tool.get("name"), "arguments": ""},
        }
        yield (
            event(
                {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": call}}}
            ),
            False,
        )
        for part in split_reply(args, pieces):
            delta = {"message": {"tool_calls": {"function": {"arguments": part}}}}
            yield event({"type": "tool-call-delta", "index": 0, "delta": delta}), True
        yield event({"type": "tool-call-end", "index": 0}), False
        finish, output = "TOOL_CALL", words(args)
    end = {"finish_reason": finish, "usage": _usage(body, output)}
    yield event({"type": "message-end", "delta": end}), False


def embed(body: dict) -> dict:
    texts = body.get("texts") or []
    dims = body.get("output_dimension") or 16
    return {
        "id": new_id("co"),
        "embeddings": {"float": [embedding_vector(t, dims) for t in texts]},
        "texts": texts,
        "meta": {
            "api_version": {"version": "2"},
            "billed_units": {"input_tokens": sum(words(t) for t in texts)},
        },
        "response_type": "embeddings_by_type",
    }


def rerank(body: dict) -> dict:
    """Scores by words shared with the query: deterministic and easy to assert on."""
    query = set((body.get("query") or "").lower().split())
    docs = body.get("documents") or []
    scored = []
    for index, doc in enumerate(docs):
        terms = set(str(doc).lower().split())
        score = round(len(query & terms) / (len(query) or 1), 4)
        scored.append({"index": index, "relevance_score": score})
    scored.sort(key=lambda r: (-r["relevance_score"], r["index"]))
    top = body.get("top_n") or len(scored)
    return {
        "id": new_id("co"),
        "results": scored[:top],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
