"""Anthropic's Messages API wire format, built from a request: the JSON message, the SSE
event stream (message_start, content_block_*, message_delta, message_stop, with ping and
error events as Anthropic sends them) and error bodies. Pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterator

from mock_provider.openai_format import encode, new_id, split_reply, tool_arguments, words

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str | None) -> dict:
    kind = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message or f"mock error {status}"}}


def event(name: str, payload: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + encode(payload) + b"\n\n"


def error_event(message: str | None) -> bytes:
    return event("error", error_body(529, message or "Overloaded"))


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"
        )
    return ""


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text(message.get("content"))
            if text:
                return text
    return ""


def input_words(body: dict) -> int:
    total = words(_text(body.get("system")))
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            total += words(_text(message.get("content")))
    return total


def problem(body: dict) -> str | None:
    """What the real API would refuse with a 400, for the fields adapters must get right."""
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    if any(isinstance(m, dict) and m.get("role") == "system" for m in messages):
        return 'messages: Unexpected role "system". Use the top-level `system` parameter.'
    return None


def chosen_tool(body: dict) -> dict | None:
    """The first tool (or the one tool_choice names), unless tool_choice is none."""
    tools = body.get("tools")
    choice = body.get("tool_choice") or {}
    if not isinstance(tools, list) or not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        named = [t for t in tools if isinstance(t, dict) and t.get("name") == choice.get("name")]
        return named[0] if named else None
    return tools[0] if isinstance(tools[0], dict) else None


def _usage(body: dict, output: int) -> dict:
    return {
        "input_tokens": input_words(body),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output,
    }


THINKING = "mock thinking about the question"


def message(body: dict, reply: str) -> dict:
    tool = chosen_tool(body)
    if tool is None:
        content = [{"type": "text", "text": reply}]
        stop, output = "end_turn", words(reply)
    else:
        args = {"echo": last_user_text(body)}
        content = [
            {"type": "tool_use", "id": "toolu_mock1", "name": tool.get("name"), "input": args}
        ]
        stop, output = "tool_use", words(tool_arguments(last_user_text(body)))
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        # Extended thinking: a signed thinking block comes before the answer.
        content.insert(0, {"type": "thinking", "thinking": THINKING, "signature": "mock-sig"})
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-mock"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": _usage(body, output),
    }


def stream(body: dict, reply: str, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    """The events of a streamed message, each with whether it carries content (the
    knobs' chunk pacing and mid-stream failure count only those)."""
    ident, model = new_id("msg"), body.get("model", "claude-mock")
    start = {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_usage(body, 1)},
    }
    yield event("message_start", {"type": "message_start", "message": start}), False
    tool = chosen_tool(body)
    if tool is None:
        block = {"type": "text", "text": ""}
        parts, delta_type, key, stop = split_reply(reply, pieces), "text_delta", "text", "end_turn"
        output = words(reply)
    else:
        args = tool_arguments(last_user_text(body))
        block = {"type": "tool_use", "id": "toolu_mock1", "name": tool.get("name"), "input": {}}
        parts, delta_type, key, stop = (
            split_reply(args, pieces),
            "input_json_delta",
            "partial_json",
            "tool_use",
        )
        output = words(args)
    yield (
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
        False,
    )
    yield event("ping", {"type": "ping"}), False
    for part in parts:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": delta_type, key: part},
        }
        yield event("content_block_delta", delta), True
    yield event("content_block_stop", {"type": "content_block_stop", "index": 0}), False
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": None},
        "usage": {"output_tokens": output},
    }
    yield event("message_delta", delta), False
    yield event("message_stop", {"type": "message_stop"}), False


def count_tokens(body: dict) -> dict:
    return {"input_tokens": input_words(body)}
