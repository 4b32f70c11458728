"""The mock's images, audio, moderations, rerank, files, batches, fine-tuning and
Responses routes, driven by the official openai SDK against the real process."""

import base64
import hashlib
import json

import httpx
import openai
import pytest

BATCH_LINE = (
    b'{"custom_id": "req-1", "method": "POST", "url": "/v1/chat/completions", "body": '
    b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "batched hello"}]}}\n'
)


@pytest.fixture
def client(mock_url):
    httpx.delete(f"{mock_url}/mock/requests")
    return openai.OpenAI(base_url=f"{mock_url}/v1", api_key="sk-mock", max_retries=0)


def recorded(mock_url) -> list[dict]:
    return httpx.get(f"{mock_url}/mock/requests").json()["data"]


def test_images_generate_and_edit_record_the_upload_not_its_bytes(client, mock_url):
    generated = client.images.generate(model="dall-e-3", prompt="a red fox", n=2)
    assert [d.revised_prompt for d in generated.data] == ["mock image of: a red fox"] * 2
    assert base64.b64decode(generated.data[0].b64_json).startswith(b"\x89PNG")
    picture = b"\x89PNG fake image bytes"
    edited = client.images.edit(
        image=("fox.png", picture, "image/png"), prompt="add a hat", response_format="url"
    )
    assert (
        edited.data[0].revised_prompt == f"mock edit of fox.png ({len(picture)} bytes): add a hat"
    )
    assert edited.data[0].url.startswith("https://images.mock.invalid/")
    entry = recorded(mock_url)[-1]
    assert entry["content_type"].startswith("multipart/form-data; boundary=")
    assert entry["body"]["fields"]["prompt"] == "add a hat"
    assert entry["body"]["files"]["image"] == {
        "filename": "fox.png",
        "content_type": "image/png",
        "bytes": len(picture),
        "sha256": hashlib.sha256(picture).hexdigest(),
    }


def test_speech_is_deterministic_binary_in_chunks(mock_url):
    body = {"model": "tts-1", "voice": "alloy", "input": "say this"}
    response = httpx.post(f"{mock_url}/v1/audio/speech", json=body)
    assert response.headers["content-type"] == "audio/mpeg"
    audio = response.content
    assert audio.startswith(b"ID3") and len(audio) == 4096 + 16 * len("say this")
    assert httpx.post(f"{mock_url}/v1/audio/speech", json=body).content == audio
    # Sent in 1 KiB chunks: a drop after two of them leaves exactly 2 KiB with the caller.
    received = b""
    broken = {**body, "mock": {"fail_after_chunks": 2}}
    with pytest.raises(httpx.RemoteProtocolError):
        with httpx.stream("POST", f"{mock_url}/v1/audio/speech", json=broken) as partial:
            for chunk in partial.iter_raw():
                received += chunk
    assert received == audio[:2048]
    wav = httpx.post(f"{mock_url}/v1/audio/speech", json={**body, "response_format": "wav"})
    assert wav.headers["content-type"] == "audio/wav" and wav.content != audio


def test_transcription_json_text_and_translation(client):
    audio = ("clip.mp3", b"\xff\xfb" * 50, "audio/mpeg")
    result = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert result.text == "mock transcription of clip.mp3 (100 bytes)"
    assert result.usage.output_tokens == 6
    text = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text")
    assert text == "mock transcription of clip.mp3 (100 bytes)"
    translated = client.audio.translations.create(model="whisper-1", file=audio, prompt="hi")
    assert translated.text == "mock translation of clip.mp3 (100 bytes): hi"


def test_moderation_rerank_and_model_retrieval(client, mock_url):
    moderated = client.moderations.create(input=["I hate rain", "sunny day"])
    assert [r.flagged for r in moderated.results] == [True, False]
    assert moderated.results[0].categories.hate is True
    reranked = httpx.post(
        f"{mock_url}/v1/rerank",
        json={"query": "red fox", "documents": ["a red fox", "a dog"], "return_documents": True},
    ).json()
    assert reranked["results"][0] == {
        "index": 0,
        "relevance_score": 1.0,
        "document": {"text": "a red fox"},
    }
    assert client.models.retrieve("gpt-4o").owned_by == "mock"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_files_batches_and_output_jsonl(client):
    uploaded = client.files.create(file=("in.jsonl", BATCH_LINE), purpose="batch")
    assert uploaded.bytes == len(BATCH_LINE) and uploaded.purpose == "batch"
    assert uploaded.id in [f.id for f in client.files.list(purpose="batch")]
    assert client.files.content(uploaded.id).content == BATCH_LINE
    batch = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "validating"
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.request_counts.completed == 1
    [line] = client.files.content(done.output_file_id).text.splitlines()
    parsed = json.loads(line)
    assert parsed["custom_id"] == "req-1"
    reply = parsed["response"]["body"]["choices"][0]["message"]["content"]
    assert reply == "mock reply to: batched hello"
    other = client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert client.batches.cancel(other.id).status == "cancelling"
    assert client.batches.retrieve(other.id).status == "cancelled"
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)
    assert client.files.delete(uploaded.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)


def test_fine_tuning_job_lifecycle(client):
    training = client.files.create(file=("train.jsonl", b"{}\n"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training.id)
    assert job.status == "validating_files"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert messages[0] == "Fine-tuning job started" and messages[-1].startswith("Created")
    steps = [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id)]
    assert steps == [10, 20]
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    assert job.id in [j.id for j in client.fine_tuning.jobs.list()]
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-none")


def test_responses_json_stream_and_stored(client):
    created = client.responses.create(model="gpt-4o-mini", input="tell me more")
    assert created.output_text == "mock reply to: tell me more"
    assert (created.usage.input_tokens, created.usage.output_tokens) == (3, 6)
    events = list(client.responses.create(model="gpt-4o-mini", input="stream it", stream=True))
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "mock reply to: stream it"
    assert events[-1].response.usage.total_tokens == 7
    assert client.responses.retrieve(created.id).id == created.id
    [item] = client.responses.input_items.list(created.id).data
    assert item.content[0].text == "tell me more"
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_knobs_apply_to_the_new_routes(mock_url):
    failing = openai.OpenAI(
        base_url=f"{mock_url}/mock/status=503,error_message=down/v1", api_key="k", max_retries=0
    )
    with pytest.raises(openai.InternalServerError, match="down"):
        failing.files.list()
    with pytest.raises(openai.InternalServerError, match="down"):
        failing.models.list()
    stream = httpx.post(
        f"{mock_url}/v1/responses",
        json={
            "model": "m",
            "input": "a b c d",
            "stream": True,
            "mock": {"fail_after_chunks": 2, "fail_mode": "event"},
        },
    )
    assert stream.text.count("event: response.output_text.delta") == 2
    assert stream.text.rstrip().endswith('"param":null}') and "event: error" in stream.text
    wrong = httpx.put(f"{mock_url}/v1/files")
    assert wrong.status_code == 405
