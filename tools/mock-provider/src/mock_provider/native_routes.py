"""Routes in the native wire formats of Anthropic, Google Gemini (also on Vertex AI),
Amazon Bedrock (Converse, and InvokeModel for embeddings), Cohere v2 and Ollama:
each validates what the real API refuses, answers JSON or its own stream framing, and
answers errors in its provider's shape."""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qs

from mock_provider import anthropic_format as anthropic
from mock_provider import bedrock_format as bedrock
from mock_provider import cohere_format as cohere
from mock_provider import gemini_format as gemini
from mock_provider import ollama_format as ollama
from mock_provider import openai_format as fmt
from mock_provider.knobs import Knobs
from mock_provider.responding import NDJSON, Streamer, paced, send_json


async def _messages(body: dict, knobs: Knobs, send) -> None:
    problem = anthropic.problem(body)
    if problem is not None:
        await send_json(send, 400, anthropic.error_body(400, problem))
        return
    reply = fmt.reply_for(anthropic.last_user_text(body), knobs.reply)
    if not body.get("stream"):
        await send_json(send, 200, anthropic.message(body, reply))
        return
    out = Streamer(send, knobs, anthropic.error_event, done=b"")
    await paced(out, anthropic.stream(body, reply, knobs.chunks))


async def _count_tokens(body: dict, knobs: Knobs, send) -> None:
    await send_json(send, 200, anthropic.count_tokens(body))


async def _gemini(model: str, streaming: bool, sse: bool, body: dict, knobs: Knobs, send) -> None:
    problem = gemini.problem(body)
    if problem is not None:
        await send_json(send, 400, gemini.error_body(400, problem))
        return
    reply = fmt.reply_for(gemini.last_user_text(body), knobs.reply)
    if not streaming:
        await send_json(send, 200, gemini.response(body, model, reply))
        return
    events = list(gemini.stream(body, model, reply, knobs.chunks))
    if not sse:
        # Without alt=sse Google streams one JSON array; the knobs' pacing still applies.
        await send_json(send, 200, events)
        return
    out = Streamer(send, knobs, gemini.error_event, done=b"")
    await paced(out, ((b"data: " + fmt.encode(e) + b"\r\n\r\n", True) for e in events))


async def _cohere_chat(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(cohere.last_user_text(body), knobs.reply)
    if not body.get("stream"):
        await send_json(send, 200, cohere.chat(body, reply))
        return
    out = Streamer(send, knobs, cohere.error_event, done=b"")
    await paced(out, cohere.chat_stream(body, reply, knobs.chunks))


async def _cohere_embed(body: dict, knobs: Knobs, send) -> None:
    await send_json(send, 200, cohere.embed(body))


async def _cohere_rerank(body: dict, knobs: Knobs, send) -> None:
    await send_json(send, 200, cohere.rerank(body))


async def _ollama_chat(body: dict, knobs: Knobs, send) -> None:
    reply = fmt.reply_for(ollama.last_user_text(body), knobs.reply)
    if body.get("stream") is False:
        await send_json(send, 200, ollama.chat(body, reply))
        return
    out = Streamer(send, knobs, ollama.error_line, done=b"")
    await paced(out, ollama.chat_stream(body, reply, knobs.chunks), NDJSON)


async def _ollama_embed(body: dict, knobs: Knobs, send) -> None:
    await send_json(send, 200, ollama.embed(body))


# route -> (handler, the provider's error body for that route)
NATIVE_ROUTES = {
    "/v1/messages": (_messages, anthropic.error_body),
    "/v1/messages/count_tokens": (_count_tokens, anthropic.error_body),
    "/v2/chat": (_cohere_chat, cohere.error_body),
    "/v2/embed": (_cohere_embed, cohere.error_body),
    "/v2/rerank": (_cohere_rerank, cohere.error_body),
    "/api/chat": (_ollama_chat, ollama.error_body),
    "/api/embed": (_ollama_embed, ollama.error_body),
}


async def _bedrock(model: str, streaming: bool, body: dict, knobs: Knobs, send) -> None:
    problem = bedrock.problem(body)
    if problem is not None:
        await send_json(send, 400, bedrock.error_body(400, problem))
        return
    reply = fmt.reply_for(bedrock.last_user_text(body), knobs.reply)
    if not streaming:
        await send_json(send, 200, bedrock.converse(body, reply))
        return
    out = Streamer(send, knobs, bedrock.error_event, done=b"")
    headers = [(b"content-type", bedrock.CONTENT_TYPE)]
    await paced(out, bedrock.converse_stream(body, reply, knobs.chunks), headers)


async def _bedrock_invoke(model: str, body: dict, knobs: Knobs, send) -> None:
    status, answer, tokens = bedrock.invoke(model, body)
    # Bedrock reports InvokeModel's token count in a header, not in every family's body.
    headers = [(b"x-amzn-bedrock-input-token-count", str(tokens).encode())]
    await send_json(send, status, answer, headers if status == 200 else None)


# Vertex AI: /v1/projects/{p}/locations/{r}/publishers/{google|anthropic}/models/{m}:{method}
_VERTEX = re.compile(
    r"^/v1/projects/[^/]+/locations/[^/]+/publishers/(google|anthropic)/models/([^/:]+):(\w+)$"
)


def model_route(route: str, query: str):
    """Routes that carry the model and the method (Gemini, Vertex AI, Bedrock):
    (handler, error body) or None."""
    sse = parse_qs(query).get("alt") == ["sse"]
    match = gemini.ROUTE.match(route)
    if match is not None:
        model, method = match.groups()
        handler = functools.partial(_gemini, model, method == "streamGenerateContent", sse)
        return handler, gemini.error_body
    converse = bedrock.ROUTE.match(route)
    if converse is not None:
        model, action = converse.groups()
        if action == "invoke":
            return functools.partial(_bedrock_invoke, model), bedrock.error_body
        handler = functools.partial(_bedrock, model, action == "converse-stream")
        return handler, bedrock.error_body
    vertex = _VERTEX.match(route)
    if vertex is None:
        return None
    publisher, model, method = vertex.groups()
    if publisher == "google" and method in ("generateContent", "streamGenerateContent"):
        handler = functools.partial(_gemini, model, method == "streamGenerateContent", sse)
        return handler, gemini.error_body
    if publisher == "anthropic" and method in ("rawPredict", "streamRawPredict"):
        return functools.partial(_vertex_claude, model), gemini.error_body
    return None


async def _vertex_claude(model: str, body: dict, knobs: Knobs, send) -> None:
    # Claude on Vertex: the model is in the path and anthropic_version in the body.
    if body.get("anthropic_version") != "vertex-2023-10-16" or "model" in body:
        message = "anthropic_version must be vertex-2023-10-16 and model must not be set"
        await send_json(send, 400, anthropic.error_body(400, message))
        return
    await _messages({**body, "model": model}, knobs, send)
