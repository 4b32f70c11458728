"""The mock speaks Bedrock Converse: JSON, the binary event stream (frames with valid
CRC32 checksums), ValidationException-style 400s, the shared knobs, and SigV4 checked
against the gateway's own signer."""

import struct
import zlib

import httpx
import msgspec
import pytest
from portcullis_gateway.providers.sigv4 import sign_aws_request


@pytest.fixture(scope="module")
def base(mock_url):
    return mock_url


def frames(raw: bytes) -> list[tuple[str, dict]]:
    """Split and check frames: the event type is the first header's string value."""
    out = []
    while raw:
        total, headers_length = struct.unpack(">II", raw[:8])
        frame, raw = raw[:total], raw[total:]
        assert struct.unpack(">I", frame[8:12])[0] == zlib.crc32(frame[:8])
        assert struct.unpack(">I", frame[-4:])[0] == zlib.crc32(frame[:-4])
        name_length = frame[12]
        value_at = 12 + 1 + name_length + 1
        (value_length,) = struct.unpack(">H", frame[value_at : value_at + 2])
        event = frame[value_at + 2 : value_at + 2 + value_length].decode()
        out.append((event, msgspec.json.decode(frame[12 + headers_length : -4])))
    return out


BODY = {"messages": [{"role": "user", "content": [{"text": "hello there"}]}]}
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def test_converse_json(base):
    answer = httpx.post(f"{base}/model/{MODEL}/converse", json=BODY).json()
    assert answer["output"]["message"]["content"] == [{"text": "mock reply to: hello there"}]
    assert answer["stopReason"] == "end_turn"
    assert answer["usage"] == {"inputTokens": 2, "outputTokens": 5, "totalTokens": 7}


def test_converse_stream_frames(base):
    response = httpx.post(f"{base}/model/{MODEL}/converse-stream", json=BODY)
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    events = frames(response.content)
    names = [name for name, _ in events]
    assert names[0] == "messageStart" and names[-2:] == ["messageStop", "metadata"]
    text = "".join(p["delta"]["text"] for n, p in events if n == "contentBlockDelta")
    assert text == "mock reply to: hello there"
    assert events[-1][1]["usage"]["outputTokens"] == 5


def test_tool_use_validation_and_stream_exception(base):
    tools = {
        "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {}}}}]}
    }
    answer = httpx.post(f"{base}/model/m/converse", json={**BODY, **tools}).json()
    assert answer["stopReason"] == "tool_use"
    assert answer["output"]["message"]["content"][0]["toolUse"]["input"] == {"echo": "hello there"}
    bad = httpx.post(
        f"{base}/model/m/converse", json={"messages": [{"role": "user", "content": "x"}]}
    )
    assert bad.status_code == 400 and "content" in bad.json()["message"]
    failing = {**BODY, "mock": {"fail_after_chunks": 1, "fail_mode": "event"}}
    events = frames(httpx.post(f"{base}/model/m/converse-stream", json=failing).content)
    assert events[-1][0] == "throttlingException"


def signed_headers(url: str, body: bytes, secret: str = "mock-secret-key", **options) -> dict:
    """Headers as the gateway will send them: SigV4 over the final URL and body."""
    headers = {"content-type": "application/json"}
    return headers | sign_aws_request(
        "POST",
        url,
        headers,
        body,
        access_key_id="AKIAMOCK",
        secret_access_key=secret,
        session_token=options.get("session_token"),
        region="us-east-1",
    )


# The model id's ":" is percent-encoded on the wire, which the signature must cover.
ENCODED = "/model/anthropic.claude-3-haiku-20240307-v1%3A0"
SIGNED_BODY = msgspec.json.encode(BODY)


def test_sigv4_with_the_right_secret_is_accepted(base):
    url = f"{base}{ENCODED}/converse"
    answer = httpx.post(url, content=SIGNED_BODY, headers=signed_headers(url, SIGNED_BODY))
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["message"]["content"] == [{"text": "mock reply to: hello there"}]
    # A knob prefix, a query string and a session token are all part of what is signed.
    url = f"{base}/mock/chunks=2{ENCODED}/converse-stream?trace=1"
    headers = signed_headers(url, SIGNED_BODY, session_token="session-token")
    streamed = httpx.post(url, content=SIGNED_BODY, headers=headers)
    assert streamed.status_code == 200, streamed.text
    assert frames(streamed.content)[0][0] == "messageStart"


def test_sigv4_with_a_wrong_secret_or_an_altered_body_is_refused(base):
    url = f"{base}{ENCODED}/converse"
    headers = signed_headers(url, SIGNED_BODY, secret="not-the-secret")
    refused = httpx.post(url, content=SIGNED_BODY, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert refused.json()["message"].startswith(
        "The request signature we calculated does not match the signature you provided"
    )
    altered = SIGNED_BODY.replace(b"hello", b"howdy")
    headers = signed_headers(url, SIGNED_BODY)
    assert httpx.post(url, content=altered, headers=headers).status_code == 403


def test_bearer_keys_pass_and_incomplete_sigv4_is_refused(base):
    bearer = httpx.post(
        f"{base}/model/m/converse", json=BODY, headers={"authorization": "Bearer bedrock-api-key"}
    )
    assert bearer.status_code == 200
    incomplete = httpx.post(
        f"{base}/model/m/converse",
        json=BODY,
        headers={"authorization": "AWS4-HMAC-SHA256 Credential=AKIAMOCK/20240101/us-east-1"},
    )
    assert incomplete.status_code == 403
    assert incomplete.headers["x-amzn-errortype"] == "IncompleteSignatureException"


TITAN = "amazon.titan-embed-text-v2:0"


def test_invoke_titan_embeddings(base):
    raw = httpx.post(f"{base}/model/{TITAN}/invoke", json={"inputText": "hello world"})
    assert raw.status_code == 200
    assert raw.headers["x-amzn-bedrock-input-token-count"] == "2"
    answer = raw.json()
    assert len(answer["embedding"]) == 1024 and answer["inputTextTokenCount"] == 2
    assert answer["embeddingsByType"]["float"] == answer["embedding"]
    # normalize defaults to true on v2: a unit vector, as Bedrock answers.
    assert abs(sum(v * v for v in answer["embedding"]) - 1) < 1e-4
    again = httpx.post(f"{base}/model/{TITAN}/invoke", json={"inputText": "hello world"}).json()
    assert again["embedding"] == answer["embedding"]
    small = httpx.post(
        f"{base}/model/{TITAN}/invoke", json={"inputText": "hi", "dimensions": 256}
    ).json()
    assert len(small["embedding"]) == 256
    v1 = httpx.post(f"{base}/model/amazon.titan-embed-text-v1/invoke", json={"inputText": "hi"})
    assert len(v1.json()["embedding"]) == 1536 and "embeddingsByType" not in v1.json()


def test_invoke_titan_refuses_what_bedrock_refuses(base):
    missing = httpx.post(f"{base}/model/{TITAN}/invoke", json={"texts": ["a"]})
    assert missing.status_code == 400
    assert "required key [inputText]" in missing.json()["message"]
    bad_dims = httpx.post(
        f"{base}/model/{TITAN}/invoke", json={"inputText": "a", "dimensions": 300}
    )
    assert bad_dims.status_code == 400 and "dimensions" in bad_dims.json()["message"]
    v1 = httpx.post(
        f"{base}/model/amazon.titan-embed-text-v1/invoke",
        json={"inputText": "a", "dimensions": 256},
    )
    assert v1.status_code == 400 and "extraneous key [dimensions]" in v1.json()["message"]
    chat_model = httpx.post(f"{base}/model/{MODEL}/invoke", json={"inputText": "a"})
    assert chat_model.status_code == 400


def test_invoke_cohere_embeddings(base):
    body = {"texts": ["hello", "good morning"], "input_type": "search_document"}
    raw = httpx.post(f"{base}/model/cohere.embed-english-v3/invoke", json=body)
    assert raw.status_code == 200
    assert raw.headers["x-amzn-bedrock-input-token-count"] == "3"
    answer = raw.json()
    assert answer["response_type"] == "embeddings_floats" and answer["texts"] == body["texts"]
    assert [len(v) for v in answer["embeddings"]] == [1024, 1024]
    assert answer["embeddings"][0] != answer["embeddings"][1]
    typed = httpx.post(
        f"{base}/model/cohere.embed-english-v3/invoke",
        json={**body, "embedding_types": ["float"]},
    ).json()
    assert typed["response_type"] == "embeddings_by_type"
    assert typed["embeddings"]["float"] == answer["embeddings"]
    no_type = httpx.post(f"{base}/model/cohere.embed-english-v3/invoke", json={"texts": ["a"]})
    assert no_type.status_code == 400 and "input_type" in no_type.json()["message"]
    no_texts = httpx.post(
        f"{base}/model/cohere.embed-english-v3/invoke", json={"input_type": "search_query"}
    )
    assert no_texts.status_code == 400 and "required key [texts]" in no_texts.json()["message"]


def test_invoke_is_sigv4_checked(base):
    url = f"{base}/model/amazon.titan-embed-text-v2%3A0/invoke"
    body = msgspec.json.encode({"inputText": "hello"})
    accepted = httpx.post(url, content=body, headers=signed_headers(url, body))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["inputTextTokenCount"] == 1
    wrong = signed_headers(url, body, secret="not-the-secret")
    refused = httpx.post(url, content=body, headers=wrong)
    assert refused.status_code == 403
    assert refused.headers["x-amzn-errortype"] == "InvalidSignatureException"
