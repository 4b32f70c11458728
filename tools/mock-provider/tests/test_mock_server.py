"""The mock provider as a real process, driven by the official openai SDK."""

import time

import httpx
import openai
import pytest


@pytest.fixture
def client(mock_url):
    httpx.delete(f"{mock_url}/mock/requests")
    return openai.OpenAI(base_url=f"{mock_url}/v1", api_key="sk-mock", max_retries=0)


def recorded(mock_url):
    return httpx.get(f"{mock_url}/mock/requests").json()["data"]


def test_chat_json_and_recorder(client, mock_url):
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello mock"}]
    )
    assert answer.choices[0].message.content == "mock reply to: hello mock"
    assert answer.usage.completion_tokens == 5
    [entry] = recorded(mock_url)
    assert entry["path"] == "/v1/chat/completions"
    assert entry["headers"]["authorization"] == "Bearer sk-mock"
    assert entry["body"]["messages"][0]["content"] == "hello mock"


def test_chat_stream_with_usage(client):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "mock reply to: one two"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 7


def test_completions_and_embeddings_and_models(client):
    completion = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert completion.choices[0].text == "mock reply to: say hi"
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(model="m", prompt="x", stream=True)
        if c.choices
    )
    assert streamed == "mock reply to: x"
    embedding = client.embeddings.create(model="text-embedding-3-small", input="abc")
    assert len(embedding.data[0].embedding) == 16
    assert [m.id for m in client.models.list()][0] == "gpt-4o-mini"


def test_429_sends_retry_after(client):
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model="m", messages=[], extra_body={"mock": {"status": 429, "retry_after": 2}}
        )
    assert info.value.response.headers["retry-after"] == "2"
    assert info.value.response.headers["retry-after-ms"] == "2000"
    assert info.value.body["type"] == "rate_limit_error"


def test_path_knobs_and_latency(mock_url):
    client = openai.OpenAI(
        base_url=f"{mock_url}/mock/status=503,error_message=down/v1", api_key="k", max_retries=0
    )
    with pytest.raises(openai.InternalServerError, match="down"):
        client.chat.completions.create(model="m", messages=[])
    slow = openai.OpenAI(base_url=f"{mock_url}/mock/latency_ms=150/v1", api_key="k", max_retries=0)
    started = time.monotonic()
    slow.chat.completions.create(model="m", messages=[])
    assert time.monotonic() - started >= 0.15


def test_text_error_format(mock_url):
    response = httpx.post(
        f"{mock_url}/v1/chat/completions",
        json={"mock": {"status": 502, "error_format": "text", "error_message": "gateway exploded"}},
    )
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "gateway exploded"


@pytest.mark.parametrize("mode", ["drop", "event"])
def test_stream_failure_mid_answer(client, mode):
    stream = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "a b c d"}],
        stream=True,
        extra_body={"mock": {"fail_after_chunks": 2, "fail_mode": mode}},
    )
    received = []
    with pytest.raises((httpx.RemoteProtocolError, openai.APIError)):
        for chunk in stream:
            received.append(chunk)
    contents = [c.choices[0].delta.content for c in received if c.choices]
    assert contents[1:3] == ["mock", " reply"]
    assert len(contents) == 3  # role chunk + two content chunks, then the failure


def test_bad_json_and_unknown_route(mock_url):
    assert httpx.post(f"{mock_url}/v1/chat/completions", content=b"{nope").status_code == 400
    assert httpx.post(f"{mock_url}/v1/nothing", json={}).status_code == 404


def test_azure_deployment_routes(mock_url):
    azure = openai.AzureOpenAI(
        azure_endpoint=mock_url,
        api_key="az-key",
        api_version="2024-10-21",
        azure_deployment="gpt4o-prod",
        max_retries=0,
    )
    httpx.delete(f"{mock_url}/mock/requests")
    answer = azure.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi azure"}]
    )
    assert answer.choices[0].message.content == "mock reply to: hi azure"
    [entry] = recorded(mock_url)
    assert entry["path"] == "/openai/deployments/gpt4o-prod/chat/completions"
    assert entry["query"] == "api-version=2024-10-21"
    assert entry["headers"]["api-key"] == "az-key"
    no_version = httpx.post(f"{mock_url}/openai/deployments/d/chat/completions", json={})
    assert no_version.status_code == 404


def test_fail_times_recovers_after_n_calls_per_key(mock_url):
    flaky = openai.OpenAI(
        base_url=f"{mock_url}/mock/fail_times=2,status=503,key=recover-test/v1",
        api_key="k",
        max_retries=0,
    )
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            flaky.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    answer = flaky.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert answer.choices[0].message.content == "mock reply to: x"
    # Another key has its own count.
    other = openai.OpenAI(
        base_url=f"{mock_url}/mock/fail_times=1,key=other-key/v1", api_key="k", max_retries=0
    )
    with pytest.raises(openai.InternalServerError):
        other.chat.completions.create(model="m", messages=[])
