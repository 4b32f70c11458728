"""Amazon Bedrock's wire format, built from a request: the JSON answer of Converse
(``/model/{id}/converse``) and the AWS binary event stream of ``/converse-stream``
(``application/vnd.amazon.eventstream`` frames with CRC32 checksums), InvokeModel
(``/model/{id}/invoke``) for the Titan and Cohere embedding models, and Bedrock's
``{"message": ...}`` errors."""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Iterator

from mock_provider.openai_format import embedding_vector, encode, new_id, split_reply, words

ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")
CONTENT_TYPE = b"application/vnd.amazon.eventstream"


def error_body(status: int, message: str | None) -> dict:
    return {"message": message or f"mock error {status}"}


def frame(event_type: str, payload: dict, message_type: str = "event") -> bytes:
    """One event-stream message: prelude (lengths + CRC), string headers, payload, CRC."""
    kind = ":exception-type" if message_type == "exception" else ":event-type"
    headers = b""
    for name, value in (
        (kind, event_type),
        (":content-type", "application/json"),
        (":message-type", message_type),
    ):
        raw = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    body = encode(payload)
    prelude = struct.pack(">II", 16 + len(headers) + len(body), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def error_event(message: str | None) -> bytes:
    return frame(
        "throttlingException", error_body(429, message or "Too many requests"), "exception"
    )


def _text(content: object) -> str:
    if not isinstance(content, list):
        return ""
    return " ".join(
        b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
    )


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text(message.get("content"))
            if text:
                return text
    return ""


def problem(body: dict) -> str | None:
    """What the real API refuses with a 400 (ValidationException)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "A conversation must start with a user message."
    for message in messages:
        if not isinstance(message.get("content"), list):
            return "messages.content: expected a list of content blocks"
        if message.get("role") not in ("user", "assistant"):
            return "messages.role: expected user or assistant"
    return None


def _usage(body: dict, output: int) -> dict:
    prompt = words(_text(body.get("system"))) + sum(
        words(_text(m.get("content"))) for m in body.get("messages") or []
    )
    return {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output}


def _tool(body: dict) -> str | None:
    for tool in (body.get("toolConfig") or {}).get("tools") or []:
        return (tool.get("toolSpec") or {}).get("name")
    return None


def converse(body: dict, reply: str) -> dict:
    name = _tool(body)
    if name is None:
        content, stop, output = [{"text": reply}], "end_turn", words(reply)
    else:
        use = {"toolUseId": "tooluse_mock1", "name": name, "input": {"echo": last_user_text(body)}}
        content, stop, output = [{"toolUse": use}], "tool_use", 1
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": _usage(body, output),
        "metrics": {"latencyMs": 1},
    }


def converse_stream(body: dict, reply: str, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    yield frame("messageStart", {"role": "assistant"}), False
    name = _tool(body)
    if name is None:
        for part in split_reply(reply, pieces):
            yield (
                frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": part}}),
                True,
            )
        stop, output = "end_turn", words(reply)
    else:
        start = {"toolUse": {"toolUseId": "tooluse_mock1", "name": name}}
        yield frame("contentBlockStart", {"contentBlockIndex": 0, "start": start}), False
        args = encode({"echo": last_user_text(body)}).decode()
        for part in split_reply(args, pieces):
            delta = {"toolUse": {"input": part}}
            yield frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}), True
        stop, output = "tool_use", 1
    yield frame("contentBlockStop", {"contentBlockIndex": 0}), False
    yield frame("messageStop", {"stopReason": stop}), False
    yield frame("metadata", {"usage": _usage(body, output), "metrics": {"latencyMs": 1}}), False


# InvokeModel's 400s, in Bedrock's words for a body its JSON schema refuses.
def _malformed(detail: str) -> str:
    return f"Malformed input request: {detail}, please reformat your input and try again."


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


_TITAN_V1_KEYS = frozenset({"inputText", "mock"})
_TITAN_V2_KEYS = _TITAN_V1_KEYS | {"dimensions", "normalize", "embeddingTypes"}


def _titan(model: str, body: dict) -> tuple[int, dict, int]:
    text = body.get("inputText")
    if not isinstance(text, str):
        return 400, {"message": _malformed("#: required key [inputText] not found")}, 0
    v1 = "text-v1" in model or "g1-text" in model
    extra = sorted(set(body) - (_TITAN_V1_KEYS if v1 else _TITAN_V2_KEYS))
    if extra:
        return 400, {"message": _malformed(f"#: extraneous key [{extra[0]}] is not permitted")}, 0
    dims = 1536 if v1 else body.get("dimensions", 1024)
    if not v1 and dims not in (256, 512, 1024):
        return 400, {"message": _malformed(f"#/dimensions: {dims} is not a valid enum value")}, 0
    vector = embedding_vector(text, dims)
    if not v1 and body.get("normalize", True):
        vector = _unit(vector)
    tokens = words(text)
    answer: dict = {"embedding": vector, "inputTextTokenCount": tokens}
    if not v1:
        answer["embeddingsByType"] = {"float": vector}
    return 200, answer, tokens


def _cohere(body: dict) -> tuple[int, dict, int]:
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        return 400, {"message": _malformed("#: required key [texts] not found")}, 0
    if not isinstance(body.get("input_type"), str):
        return 400, {"message": _malformed("#: required key [input_type] not found")}, 0
    vectors = [embedding_vector(t, body.get("output_dimension") or 1024) for t in texts]
    by_type = body.get("embedding_types")
    answer = {
        "embeddings": {"float": vectors} if by_type else vectors,
        "id": new_id("bedrock-embed"),
        "response_type": "embeddings_by_type" if by_type else "embeddings_floats",
        "texts": texts,
    }
    return 200, answer, sum(words(t) for t in texts)


def invoke(model: str, body: dict) -> tuple[int, dict, int]:
    """(status, body, input tokens for ``X-Amzn-Bedrock-Input-Token-Count``)."""
    if "titan-embed" in model:
        return _titan(model, body)
    if "cohere.embed" in model:
        return _cohere(body)
    return (
        400,
        {"message": f"mock: InvokeModel answers only Titan and Cohere embeddings, not {model}"},
        0,
    )
