"""Every OpenAI endpoint beyond chat, completions and embeddings — images, audio,
moderations, rerank, models, files, batches, fine-tuning, the Responses API — and the
catch-all, through a real gateway to the mock provider with the official openai SDK:
what the caller gets, what reached the provider, and what the log event keeps."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import msgspec
import openai
import pytest
from portcullis_stack.servers import free_port

BATCH_LINE = (
    b'{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": '
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "batched hello"}]}}\n'
)
PICTURE = bytes(range(256)) * 40  # 10 KiB, every byte value
AUDIO = bytes(reversed(range(256))) * 100  # 25 KiB


def decoded(raw: msgspec.Raw):
    return msgspec.json.decode(raw)


def last_seen(mock, path: str) -> dict:
    return [r for r in mock.requests() if r["path"] == path][-1]


def knobbed(mock, knobs: str) -> str:
    return f"{mock.url}/mock/{knobs}/v1"


async def test_images_generate_logs_json_bodies(gateway, mock, events, portkey_headers):
    raw = gateway.client(mock).images.with_raw_response.generate(
        model="dall-e-3", prompt="a red fox", n=2
    )
    answer = raw.parse()
    assert [d.revised_prompt for d in answer.data] == ["mock image of: a red fox"] * 2
    request_id = portkey_headers(raw.headers)
    seen = last_seen(mock, "/v1/images/generations")
    assert seen["method"] == "POST"
    assert seen["body"] == {"model": "dall-e-3", "prompt": "a red fox", "n": 2}
    assert seen["headers"]["authorization"] == "Bearer sk-test-key"
    assert not [h for h in seen["headers"] if h.startswith("x-portkey-")]
    logged, msg = await events.log(gateway, request_id)
    assert "sk-test-key" not in bytes(msg.data).decode()
    assert (logged.kind, logged.path, logged.method, logged.status) == (
        "images.generations",
        "/v1/images/generations",
        "POST",
        200,
    )
    assert logged.model == "dall-e-3"
    assert logged.provider_url == f"{mock.v1}/images/generations"
    assert decoded(logged.request_body) == seen["body"]
    assert decoded(logged.response_body) == json.loads(raw.content)


async def test_images_edit_multipart_passes_the_boundary_and_logs_metadata(
    gateway, mock, events, portkey_headers
):
    raw = gateway.client(mock).images.with_raw_response.edit(
        image=("fox.png", PICTURE, "image/png"), prompt="add a hat"
    )
    revised = raw.parse().data[0].revised_prompt
    assert revised == f"mock edit of fox.png ({len(PICTURE)} bytes): add a hat"
    request_id = portkey_headers(raw.headers)
    seen = last_seen(mock, "/v1/images/edits")
    # The mock could split the body with the caller's boundary: it arrived unchanged.
    assert seen["content_type"].startswith("multipart/form-data; boundary=")
    assert seen["body"]["fields"]["prompt"] == "add a hat"
    assert seen["body"]["files"]["image"]["sha256"] == hashlib.sha256(PICTURE).hexdigest()
    logged, msg = await events.log(gateway, request_id)
    assert logged.kind == "images.edits" and logged.status == 200
    assert decoded(logged.request_body) == {
        "content_type": seen["content_type"],
        "bytes": seen["bytes"],
    }
    assert PICTURE[:64].hex() not in bytes(msg.data).hex()


def test_image_variation(gateway, mock):
    answer = gateway.client(mock).images.create_variation(
        image=("fox.png", PICTURE, "image/png"), n=3, response_format="url"
    )
    assert len(answer.data) == 3
    assert all(d.url.startswith("https://images.mock.invalid/") for d in answer.data)
    assert last_seen(mock, "/v1/images/variations")["body"]["fields"]["n"] == "3"


async def test_speech_streams_binary_audio_and_logs_its_size(
    gateway, mock, events, portkey_headers
):
    body = {"model": "tts-1", "voice": "alloy", "input": "read this aloud"}
    async with httpx.AsyncClient() as http:
        expected = (await http.post(f"{mock.v1}/audio/speech", json=body)).content
    client = gateway.client(mock)
    raw = client.audio.speech.with_raw_response.create(**body)
    assert raw.content == expected
    assert raw.headers["content-type"] == "audio/mpeg"
    assert raw.headers["content-length"] == str(len(expected))
    request_id = portkey_headers(raw.headers)
    with client.audio.speech.with_streaming_response.create(**body) as streamed:
        assert b"".join(streamed.iter_bytes()) == expected
        assert streamed.headers["x-portkey-request-id"]
    logged, _ = await events.log(gateway, request_id)
    assert logged.kind == "audio.speech" and logged.status == 200 and not logged.stream
    assert decoded(logged.request_body) == body
    assert decoded(logged.response_body) == {"content_type": "audio/mpeg", "bytes": len(expected)}


async def test_speech_broken_half_way_is_cut_off_not_shortened(gateway, mock, events):
    """Bytes go on as they arrive: the two chunks the provider sent reach the caller, then
    the connection is aborted (a short but complete-looking answer would be a lie)."""
    body = {"model": "tts-1", "voice": "alloy", "input": "read this aloud"}
    received = b""
    headers = {"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"}
    broken = {**body, "mock": {"fail_after_chunks": 2}}
    async with httpx.AsyncClient() as http:
        expected = (await http.post(f"{mock.v1}/audio/speech", json=body)).content
        with pytest.raises(httpx.RemoteProtocolError):
            async with http.stream(
                "POST", f"{gateway.v1}/audio/speech", json=broken, headers=headers
            ) as response:
                request_id = response.headers["x-portkey-request-id"]
                async for chunk in response.aiter_raw():
                    received += chunk
    assert received == expected[:2048]
    logged, _ = await events.log(gateway, request_id)
    assert logged.status == 502 and logged.error["code"] == "upstream_unreachable"


async def test_transcription_translation_multipart_and_usage(
    gateway, mock, events, portkey_headers
):
    client = gateway.client(mock)
    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("clip.mp3", AUDIO, "audio/mpeg")
    )
    assert raw.parse().text == f"mock transcription of clip.mp3 ({len(AUDIO)} bytes)"
    request_id = portkey_headers(raw.headers)
    seen = last_seen(mock, "/v1/audio/transcriptions")
    assert seen["body"]["fields"]["model"] == "whisper-1"
    assert seen["body"]["files"]["file"]["sha256"] == hashlib.sha256(AUDIO).hexdigest()
    text = client.audio.transcriptions.create(
        model="whisper-1", file=("clip.mp3", AUDIO, "audio/mpeg"), response_format="text"
    )
    assert text == f"mock transcription of clip.mp3 ({len(AUDIO)} bytes)"
    translated = client.audio.translations.create(
        model="whisper-1", file=("clip.mp3", AUDIO, "audio/mpeg")
    )
    assert translated.text == f"mock translation of clip.mp3 ({len(AUDIO)} bytes)"
    logged, _ = await events.log(gateway, request_id)
    assert logged.kind == "audio.transcriptions" and logged.status == 200
    assert decoded(logged.request_body) == {
        "content_type": seen["content_type"],
        "bytes": seen["bytes"],
    }
    assert decoded(logged.response_body)["text"] == raw.parse().text
    # input_tokens / output_tokens, as the Responses API spells them.
    assert (logged.usage.prompt_tokens, logged.usage.completion_tokens) == (3, 6)


def test_moderations_and_rerank(gateway, mock, portkey_headers):
    moderated = gateway.client(mock).moderations.with_raw_response.create(
        input=["I hate rain", "a sunny day"]
    )
    assert [r.flagged for r in moderated.parse().results] == [True, False]
    portkey_headers(moderated.headers)
    reranked = httpx.post(
        f"{gateway.v1}/rerank",
        json={"model": "rerank-v3", "query": "red fox", "documents": ["a dog", "a red fox"]},
        headers={"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"},
    )
    assert reranked.status_code == 200
    assert reranked.json()["results"][0] == {"index": 1, "relevance_score": 1.0}
    portkey_headers(reranked.headers)


def test_models_list_retrieve_and_a_provider_404(gateway, mock):
    client = gateway.client(mock)
    assert [m.id for m in client.models.list()][:2] == ["gpt-4o-mini", "gpt-4o"]
    assert client.models.retrieve("gpt-4o").owned_by == "mock"
    seen = last_seen(mock, "/v1/models/gpt-4o")
    assert seen["method"] == "GET" and seen["bytes"] == 0
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("no-such-model")
    assert info.value.body["code"] == "model_not_found"
    assert info.value.response.headers["x-portkey-request-id"]


async def test_files_upload_list_retrieve_content_delete(gateway, mock, events, portkey_headers):
    client = gateway.client(mock)
    raw = client.files.with_raw_response.create(file=("in.jsonl", BATCH_LINE), purpose="batch")
    uploaded = raw.parse()
    assert uploaded.bytes == len(BATCH_LINE) and uploaded.filename == "in.jsonl"
    upload_id = portkey_headers(raw.headers)
    assert uploaded.id in [f.id for f in client.files.list(purpose="batch")]
    assert last_seen(mock, "/v1/files")["query"] == "purpose=batch"
    assert client.files.retrieve(uploaded.id).purpose == "batch"
    content = client.files.with_raw_response.content(uploaded.id)
    assert content.content == BATCH_LINE
    assert content.headers["content-type"] == "application/octet-stream"
    content_id = portkey_headers(content.headers)
    assert client.files.delete(uploaded.id).deleted
    assert last_seen(mock, f"/v1/files/{uploaded.id}")["method"] == "DELETE"
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    logged, _ = await events.log(gateway, upload_id)
    assert (logged.kind, logged.path, logged.status) == ("files", "/v1/files", 200)
    assert decoded(logged.request_body)["bytes"] > len(BATCH_LINE)  # the multipart envelope
    logged, _ = await events.log(gateway, content_id)
    assert logged.path == f"/v1/files/{uploaded.id}/content" and logged.method == "GET"
    assert decoded(logged.response_body) == {
        "content_type": "application/octet-stream",
        "bytes": len(BATCH_LINE),
    }
    # Metrics are labelled by endpoint, not by path: file ids would make a label per file.
    async with httpx.AsyncClient() as http:
        scrape = (await http.get(f"{gateway.url}/metrics")).text
    assert 'route="/v1/files"' in scrape and uploaded.id not in scrape


def test_batches_create_list_retrieve_cancel_and_output(gateway, mock):
    client = gateway.client(mock)
    source = client.files.create(file=("in.jsonl", BATCH_LINE), purpose="batch")
    batch = client.batches.create(
        input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating" and batch.input_file_id == source.id
    assert batch.id in [b.id for b in client.batches.list()]
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.total == 1
    [line] = client.files.content(done.output_file_id).text.splitlines()
    output = json.loads(line)
    assert output["custom_id"] == "req-1"
    assert output["response"]["body"]["choices"][0]["message"]["content"] == (
        "mock reply to: batched hello"
    )
    other = client.batches.create(
        input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert client.batches.cancel(other.id).status == "cancelling"
    assert last_seen(mock, f"/v1/batches/{other.id}/cancel")["method"] == "POST"
    assert client.batches.retrieve(other.id).status == "cancelled"


def test_fine_tuning_jobs(gateway, mock):
    client = gateway.client(mock)
    training = client.files.create(file=("train.jsonl", b"{}\n"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training.id)
    assert job.status == "validating_files" and job.training_file == training.id
    assert job.id in [j.id for j in client.fine_tuning.jobs.list()]
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert messages[0] == "Fine-tuning job started"
    steps = [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id)]
    assert steps == [10, 20]
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    paths = [(r["method"], r["path"]) for r in mock.requests()][-6:]
    assert paths == [
        ("POST", "/v1/fine_tuning/jobs"),
        ("GET", "/v1/fine_tuning/jobs"),
        ("GET", f"/v1/fine_tuning/jobs/{job.id}"),
        ("GET", f"/v1/fine_tuning/jobs/{job.id}/events"),
        ("GET", f"/v1/fine_tuning/jobs/{job.id}/checkpoints"),
        ("POST", f"/v1/fine_tuning/jobs/{job.id}/cancel"),
    ]


async def test_responses_json_usage_cost_and_stored(gateway, mock, events, portkey_headers):
    client = gateway.client(mock)
    raw = client.responses.with_raw_response.create(model="gpt-4o-mini", input="tell me more")
    created = raw.parse()
    assert created.output_text == "mock reply to: tell me more"
    request_id = portkey_headers(raw.headers)
    assert client.responses.retrieve(created.id).output_text == created.output_text
    [item] = client.responses.input_items.list(created.id).data
    assert item.content[0].text == "tell me more"
    client.responses.delete(created.id)
    assert last_seen(mock, f"/v1/responses/{created.id}")["method"] == "DELETE"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    logged, _ = await events.log(gateway, request_id)
    assert logged.kind == "responses" and logged.model == "gpt-4o-mini"
    usage = logged.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 6, 9)
    assert usage.cached_tokens == 0 and usage.reasoning_tokens == 0
    assert logged.cost is not None and logged.cost > 0


async def test_responses_stream_is_relayed_and_logged_as_the_final_response(
    gateway, mock, events, portkey_headers
):
    raw = gateway.client(mock).responses.with_raw_response.create(
        model="gpt-4o-mini", input="stream it please", stream=True
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    request_id = portkey_headers(raw.headers)
    stream_events = list(raw.parse())
    deltas = "".join(e.delta for e in stream_events if e.type == "response.output_text.delta")
    assert deltas == "mock reply to: stream it please"
    final = stream_events[-1]
    assert final.type == "response.completed"
    logged, _ = await events.log(gateway, request_id)
    assert logged.stream and logged.status == 200 and logged.kind == "responses"
    body = decoded(logged.response_body)
    assert body["id"] == final.response.id and body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == deltas
    assert (logged.usage.prompt_tokens, logged.usage.completion_tokens) == (3, 6)
    assert not logged.usage.estimated
    assert logged.timings.first_byte_ms <= logged.timings.first_token_ms <= logged.timings.total_ms


async def test_catch_all_reaches_the_provider_at_that_path(gateway, mock, events):
    headers = {"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        response = await http.post(f"{gateway.v1}/some/unknown/path?x=1", json={"a": 1})
        # The path goes as sent, trailing slash and all.
        await http.patch(f"{gateway.v1}/vector_stores/vs_1/", json={})
    assert last_seen(mock, "/v1/vector_stores/vs_1/")["method"] == "PATCH"
    # The mock does not know the path: its own (OpenAI-shaped) 404 comes back.
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "unknown route POST /v1/some/unknown/path"
    seen = last_seen(mock, "/v1/some/unknown/path")
    assert seen["query"] == "x=1" and seen["body"] == {"a": 1}
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert (logged.kind, logged.status) == ("passthrough", 404)
    assert logged.provider_url == f"{mock.v1}/some/unknown/path"
    with pytest.raises(openai.NotFoundError):
        gateway.client(mock).vector_stores.list()
    assert last_seen(mock, "/v1/vector_stores")["method"] == "GET"


def test_the_gateways_own_routes_still_win(gateway, mock):
    mock.clear()
    headers = {"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"}
    # inference.py answers these itself (POST only); a pass-through would reach the mock.
    for path in ("chat/completions", "completions", "embeddings"):
        response = httpx.get(f"{gateway.v1}/{path}", headers=headers)
        assert response.status_code == 405, path
        assert response.json()["error"]["code"] == "method_not_allowed"
    chat = gateway.client(mock).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "still here"}]
    )
    assert chat.choices[0].message.content == "mock reply to: still here"
    assert httpx.get(f"{gateway.v1}/health", headers=headers).json()["status"] == "success"
    for path in ("messages", "messages/count_tokens"):  # routes/messages.py, Anthropic-shaped
        response = httpx.get(f"{gateway.v1}/{path}", headers=headers)
        assert response.status_code == 405, path
        assert response.json()["type"] == "error"
    log = httpx.get(f"{gateway.v1}/logs/some-id", headers=headers)
    assert log.status_code == 503 and log.json()["error"]["code"] == "service_unavailable"
    graph = httpx.get(f"{gateway.v1}/analytics/graphs/requests", headers=headers)
    assert graph.status_code == 400 and graph.json()["error"]["code"] == "missing_parameter"
    assert httpx.get(f"{gateway.url}/v1x/models", headers=headers).status_code == 404
    assert [r["path"] for r in mock.requests()] == ["/v1/chat/completions"]


def test_dot_segments_are_refused(gateway, mock):
    mock.clear()
    response = httpx.get(
        f"{gateway.v1}/files/%2e%2e/%2e%2e/admin",
        headers={"x-portkey-custom-host": mock.v1, "authorization": "Bearer k"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_path"
    assert mock.requests() == []


async def test_over_limit_uploads_are_413_declared_or_streamed(gateway, mock, events):
    mock.clear()
    with pytest.raises(openai.APIStatusError) as info:
        gateway.client(mock).files.create(file=("big.bin", b"x" * 100_000), purpose="batch")
    assert info.value.status_code == 413 and info.value.body["code"] == "request_too_large"
    request_id = info.value.response.headers["x-portkey-request-id"]
    assert mock.requests() == []  # refused from its declared length, before any call
    logged, _ = await events.log(gateway, request_id)
    assert logged.status == 413 and logged.kind == "files"

    async def chunked():  # no content-length: the limit is found while the body streams
        for _ in range(8):
            yield b"y" * 16384

    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{gateway.v1}/files",
            content=chunked(),
            headers={
                "content-type": "application/octet-stream",
                "x-portkey-custom-host": mock.v1,
                "authorization": "Bearer k",
            },
        )
    assert response.status_code == 413
    assert all(r["bytes"] < 8 * 16384 for r in mock.requests())


def test_provider_errors_are_openai_shaped_with_the_providers_status(gateway, mock):
    failing = gateway.client(
        api_key="k",
        **{"x-portkey-custom-host": knobbed(mock, "status=500,error_message=files%20down")},
    )
    with pytest.raises(openai.InternalServerError) as info:
        failing.files.list()
    assert info.value.status_code == 500
    assert info.value.body["message"] == "files down"
    assert info.value.response.headers["x-portkey-request-id"]
    text_error = httpx.get(
        f"{gateway.v1}/batches",
        headers={
            "x-portkey-custom-host": knobbed(mock, "status=503,error_format=text"),
            "authorization": "Bearer k",
        },
    )
    assert text_error.status_code == 503
    error = text_error.json()["error"]
    assert error["code"] == "provider_error" and "mock plain-text error 503" in error["message"]
    nowhere = httpx.get(
        f"{gateway.v1}/models",
        headers={
            "x-portkey-custom-host": f"http://127.0.0.1:{free_port()}/v1",
            "authorization": "Bearer k",
        },
    )
    assert nowhere.status_code == 502
    assert nowhere.json()["error"]["code"] == "upstream_unreachable"


def test_a_redirect_goes_back_to_the_caller_not_followed(gateway, mock):
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — http.server's spelling
            self.send_response(307)
            self.send_header("location", f"{mock.v1}/models")
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self):  # noqa: N802 — http.server's spelling
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_port}/v1"
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    routed = {"strategy": {"mode": "fallback"}, "targets": [{"custom_host": host}]}
    key = {"authorization": "Bearer sk-not-for-elsewhere"}
    try:
        mock.clear()
        responses = [
            httpx.get(f"{gateway.v1}/files", headers={"x-portkey-custom-host": host, **key}),
            # The chat path (single call and routing engine) does not follow them either.
            httpx.post(
                f"{gateway.v1}/chat/completions",
                json=chat,
                headers={"x-portkey-custom-host": host, **key},
            ),
            httpx.post(
                f"{gateway.v1}/chat/completions",
                json=chat,
                headers={"x-portkey-config": json.dumps(routed), **key},
            ),
        ]
    finally:
        server.shutdown()
    for response in responses:
        assert response.status_code == 307
        assert response.headers["location"] == f"{mock.v1}/models"
    assert mock.requests() == []  # the key did not follow the redirect


@pytest.mark.parametrize("provider", ["azure-openai", "vertex-ai", "bedrock"])
def test_providers_with_request_dependent_urls_need_a_custom_host(gateway, provider):
    response = httpx.get(
        f"{gateway.v1}/files",
        headers={"x-portkey-provider": provider, "authorization": "Bearer k"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "custom_host_required" and "x-portkey-custom-host" in error["message"]


async def test_routed_config_falls_back_on_a_json_endpoint(gateway, mock, events):
    """The engine takes a pass-through JSON POST as it takes chat: here /v1/rerank, which
    the Cohere adapter serves, falls back from a failing target to a working one."""
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [
            {
                "provider": "cohere",
                "api_key": "co-1",
                "custom_host": f"{mock.url}/mock/status=500/v2",
            },
            {"provider": "cohere", "api_key": "co-2", "custom_host": f"{mock.url}/v2"},
        ],
    }
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{gateway.v1}/rerank",
            json={"model": "rerank-v3.5", "query": "red fox", "documents": ["a dog", "a red fox"]},
            headers={"x-portkey-config": json.dumps(config)},
        )
    assert response.status_code == 200
    assert response.json()["results"][0] == {"index": 1, "relevance_score": 1.0}
    assert response.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    calls = [(r["path"], r["headers"]["authorization"]) for r in mock.requests()[-2:]]
    assert calls == [("/mock/status=500/v2/rerank", "Bearer co-1"), ("/v2/rerank", "Bearer co-2")]
    logged, _ = await events.log(gateway, response.headers["x-portkey-request-id"])
    assert [(a.path, a.status) for a in logged.attempts] == [
        ("config.targets[0]", 500),
        ("config.targets[1]", 200),
    ]
    assert logged.kind == "rerank" and logged.rescued


async def test_routed_config_falls_back_on_an_openai_json_endpoint(gateway, mock, events):
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{"custom_host": knobbed(mock, "status=500")}, {"custom_host": mock.v1}],
    }
    client = gateway.client(api_key="k", **{"x-portkey-config": json.dumps(config)})
    raw = client.images.with_raw_response.generate(model="dall-e-3", prompt="a fox")
    assert raw.parse().data[0].revised_prompt == "mock image of: a fox"
    assert raw.headers["x-portkey-last-used-option-index"] == "config.targets[1]"
    logged, _ = await events.log(gateway, raw.headers["x-portkey-request-id"])
    assert [(a.path, a.status) for a in logged.attempts] == [
        ("config.targets[0]", 500),
        ("config.targets[1]", 200),
    ]
    assert logged.kind == "images.generations" and logged.rescued


def test_routed_config_on_multipart_or_get_is_a_clear_400(gateway, mock):
    mock.clear()
    config = {"strategy": {"mode": "fallback"}, "targets": [{"custom_host": mock.v1}] * 2}
    client = gateway.client(api_key="k", **{"x-portkey-config": json.dumps(config)})
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(image=("fox.png", PICTURE, "image/png"), prompt="hat")
    assert info.value.body["code"] == "config_not_supported"
    assert "POST /v1/images/edits" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:
        client.files.list()
    assert "GET /v1/files" in info.value.body["message"]
    assert mock.requests() == []


def _tree(pid: int) -> list[int]:
    """The process and its descendants (with WORKERS>1 uvicorn serves from worker processes)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _reset_peaks(pids: list[int]) -> dict[int, int]:
    """Reset each process's peak RSS (Linux: 5 > clear_refs) and return its RSS now."""
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    return {pid: _status_kib(pid, "VmRSS:") for pid in pids}


@pytest.fixture(scope="module")
def roomy_gateway(tmp_path_factory, nats_server, valkey_server, gateway_factory):
    gw = gateway_factory(
        tmp_path_factory.mktemp("roomy-gateway"),
        nats_server.url,
        valkey_server.url,
        max_body_bytes=str(64 * 1024 * 1024),
    )
    yield gw
    gw.process.stop()


async def test_a_20_mb_upload_streams_through(roomy_gateway, mock, events):
    data = hashlib.sha256(b"seed").digest() * (20 * 1024 * 1024 // 32)
    pids = _tree(roomy_gateway.process.proc.pid)
    before = _reset_peaks(pids)
    raw = roomy_gateway.client(mock).files.with_raw_response.create(
        file=("big.bin", data), purpose="batch"
    )
    assert raw.parse().bytes == len(data)
    seen = last_seen(mock, "/v1/files")
    assert seen["body"]["files"]["file"]["bytes"] == len(data)
    assert seen["body"]["files"]["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    # Holding the body whole would raise the worker's peak by its 20 MiB at least.
    growth = {pid: _status_kib(pid, "VmHWM:") - rss for pid, rss in before.items()}
    assert max(growth.values()) < 8 * 1024, growth
    logged, _ = await events.log(roomy_gateway, raw.headers["x-portkey-request-id"])
    assert decoded(logged.request_body)["bytes"] == seen["bytes"] > len(data)
    roomy_gateway.client(mock).files.delete(raw.parse().id)
