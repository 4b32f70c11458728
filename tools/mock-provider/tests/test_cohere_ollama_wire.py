"""The mock speaks Cohere v2 (chat JSON + SSE, embed, rerank) and Ollama's native API
(chat JSON + NDJSON, embed), each with its own error shape and the shared knobs."""

import httpx
import msgspec
import pytest


@pytest.fixture(scope="module")
def base(mock_url):
    return mock_url


def post(base: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, timeout=10)


USER = [{"role": "user", "content": "hello there"}]


def test_cohere_chat_json_and_stream(base):
    answer = post(base, "/v2/chat", {"model": "command-a", "messages": USER}).json()
    assert answer["message"]["content"] == [{"type": "text", "text": "mock reply to: hello there"}]
    assert answer["finish_reason"] == "COMPLETE"
    assert answer["usage"]["tokens"] == {"input_tokens": 2, "output_tokens": 5}
    text = post(base, "/v2/chat", {"model": "command-a", "messages": USER, "stream": True}).text
    events = [msgspec.json.decode(b.split("data: ", 1)[1]) for b in text.strip().split("\n\n")]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message-start" and kinds[-1] == "message-end"
    pieces = [
        e["delta"]["message"]["content"]["text"] for e in events if e["type"] == "content-delta"
    ]
    assert "".join(pieces) == "mock reply to: hello there"
    assert events[-1]["delta"]["finish_reason"] == "COMPLETE"


def test_cohere_tool_call_embed_rerank_and_errors(base):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    answer = post(base, "/v2/chat", {"model": "c", "messages": USER, "tools": tools}).json()
    assert answer["finish_reason"] == "TOOL_CALL"
    assert answer["message"]["tool_calls"][0]["function"]["name"] == "lookup"
    embedded = post(base, "/v2/embed", {"model": "e", "texts": ["a", "b c"], "output_dimension": 4})
    assert [len(v) for v in embedded.json()["embeddings"]["float"]] == [4, 4]
    ranked = post(
        base,
        "/v2/rerank",
        {
            "model": "r",
            "query": "capital france",
            "documents": ["berlin", "paris capital france"],
            "top_n": 1,
        },
    ).json()
    assert ranked["results"] == [{"index": 1, "relevance_score": 1.0}]
    failed = post(base, "/v2/chat", {"model": "c", "messages": USER, "mock": {"status": 429}})
    assert failed.status_code == 429 and failed.json() == {"message": "mock error 429"}


def test_ollama_chat_json_ndjson_embed_and_errors(base):
    answer = post(
        base, "/api/chat", {"model": "llama3.2", "messages": USER, "stream": False}
    ).json()
    assert answer["message"]["content"] == "mock reply to: hello there"
    assert answer["done"] is True and answer["prompt_eval_count"] == 2
    streamed = post(base, "/api/chat", {"model": "llama3.2", "messages": USER})
    assert streamed.headers["content-type"] == "application/x-ndjson"
    lines = [msgspec.json.decode(x) for x in streamed.text.splitlines()]
    assert "".join(x["message"]["content"] for x in lines) == "mock reply to: hello there"
    assert [x["done"] for x in lines][-2:] == [False, True] and lines[-1]["eval_count"] == 5
    embedded = post(base, "/api/embed", {"model": "m", "input": ["a", "b"]}).json()
    assert len(embedded["embeddings"]) == 2
    failing = {
        "model": "m",
        "messages": USER,
        "mock": {"fail_after_chunks": 1, "fail_mode": "event"},
    }
    lines = post(base, "/api/chat", failing).text.splitlines()
    assert len(lines) == 2 and "error" in msgspec.json.decode(lines[-1])
    missing = post(base, "/api/chat", {"model": "m", "messages": USER, "mock": {"status": 404}})
    assert missing.status_code == 404 and missing.json() == {"error": "mock error 404"}
