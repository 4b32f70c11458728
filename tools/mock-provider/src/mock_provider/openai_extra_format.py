"""OpenAI's wire format for the endpoints beyond chat, completions and embeddings:
images, audio, moderations, rerank, files, batches, fine-tuning jobs and the Responses
API (objects and stream events). Pure functions with deterministic output, shaped as
the API reference documents them."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from itertools import count

import msgspec

from mock_provider import cohere_format
from mock_provider import openai_format as fmt

_ids = count(1)

# A valid 1x1 PNG: callers that decode b64_json get a real image.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
SPEECH_TYPES = {
    "mp3": b"audio/mpeg",
    "opus": b"audio/opus",
    "aac": b"audio/aac",
    "flac": b"audio/flac",
    "wav": b"audio/wav",
    "pcm": b"audio/pcm",
}
SPEECH_CHUNK = 1024
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def new_id(prefix: str) -> str:
    """OpenAI ids carry their own separator (``file-``, ``batch_``, ``resp_``)."""
    return f"{prefix}mock{next(_ids):06d}"


def now() -> int:
    return int(time.time())


def list_page(data: list[dict], **extra) -> dict:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
        **extra,
    }


# --- images ---------------------------------------------------------------------------


def image_data(n: int, response_format: str | None, revised_prompt: str | None) -> dict:
    items = []
    for index in range(n):
        if response_format == "url":
            item: dict = {"url": f"https://images.mock.invalid/{new_id('img-')}-{index}.png"}
        else:
            item = {"b64_json": base64.b64encode(PNG_1X1).decode()}
        if revised_prompt is not None:
            item["revised_prompt"] = revised_prompt
        items.append(item)
    return {"created": now(), "data": items}


# --- audio ----------------------------------------------------------------------------


def speech_audio(text: str, response_format: str) -> bytes:
    """Deterministic bytes for a text: an ID3-tagged header, then blocks derived from the
    text's hash, about 4 KB plus 16 bytes per character (so several chunks)."""
    size = 4096 + 16 * len(text)
    seed = hashlib.sha256(f"{response_format}:{text}".encode()).digest()
    blocks = [b"ID3\x04\x00\x00\x00\x00\x00\x00" if response_format == "mp3" else b"MOCKAUDIO\x00"]
    total = len(blocks[0])
    while total < size:
        seed = hashlib.sha256(seed).digest()
        blocks.append(seed)
        total += len(seed)
    return b"".join(blocks)[:size]


def speech_chunks(audio: bytes) -> Iterator[bytes]:
    for start in range(0, len(audio), SPEECH_CHUNK):
        yield audio[start : start + SPEECH_CHUNK]


def transcript_text(task: str, filename: str, size: int, prompt: str | None) -> str:
    text = f"mock {task} of {filename} ({size} bytes)"
    return f"{text}: {prompt}" if prompt else text


def transcription(task: str, text: str, response_format: str, language: str | None) -> dict:
    words = fmt.words(text)
    if response_format == "verbose_json":
        return {
            "task": "transcribe" if task == "transcription" else "translate",
            "language": language or "english",
            "duration": float(words),
            "text": text,
            "segments": [
                {"id": 0, "seek": 0, "start": 0.0, "end": float(words), "text": text, "tokens": []}
            ],
            "usage": {"type": "duration", "seconds": words},
        }
    return {
        "text": text,
        "usage": {
            "type": "tokens",
            "input_tokens": 3,
            "output_tokens": words,
            "total_tokens": 3 + words,
        },
    }


# --- moderations, rerank ---------------------------------------------------------------


def _moderation_texts(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if not isinstance(raw, list):
        return [""]
    # A list of strings is several inputs; a list of parts is one multimodal input.
    if all(isinstance(item, str) for item in raw):
        return list(raw)
    return [" ".join(p.get("text", "") for p in raw if isinstance(p, dict))]


def moderation(body: dict) -> dict:
    """A category is flagged when its first word (``hate``, ``violence``, ...) is in the
    text: deterministic and easy to assert on."""
    results = []
    for text in _moderation_texts(body.get("input")):
        lowered = text.lower()
        categories = {c: c.split("/")[0] in lowered for c in MODERATION_CATEGORIES}
        results.append(
            {
                "flagged": any(categories.values()),
                "categories": categories,
                "category_scores": {c: 0.91 if hit else 0.0001 for c, hit in categories.items()},
                "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
            }
        )
    return {
        "id": new_id("modr-"),
        "model": body.get("model") or "omni-moderation-latest",
        "results": results,
    }


def rerank(body: dict) -> dict:
    """Cohere/Jina-style rerank: Cohere's scoring, with the documents when asked."""
    docs = [
        d.get("text", "") if isinstance(d, dict) else str(d) for d in body.get("documents") or []
    ]
    scored = cohere_format.rerank({**body, "documents": docs})["results"]
    if body.get("return_documents"):
        scored = [{**r, "document": {"text": docs[r["index"]]}} for r in scored]
    tokens = fmt.words(body.get("query") or "") + sum(fmt.words(d) for d in docs)
    return {
        "id": new_id("rerank-"),
        "model": body.get("model", "mock-rerank"),
        "results": scored,
        "usage": {"total_tokens": tokens},
    }


# --- files, batches, fine-tuning -------------------------------------------------------


def file_object(file_id: str, filename: str, purpose: str, size: int) -> dict:
    return {
        "id": file_id,
        "object": "file",
        "bytes": size,
        "created_at": now(),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def batch_object(body: dict) -> dict:
    return {
        "id": new_id("batch_"),
        "object": "batch",
        "endpoint": body.get("endpoint"),
        "errors": None,
        "input_file_id": body.get("input_file_id"),
        "completion_window": body.get("completion_window", "24h"),
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": now(),
        "in_progress_at": None,
        "expires_at": now() + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": body.get("metadata"),
    }


def _batch_answer(url: str, body: dict) -> dict:
    if url.endswith("/embeddings"):
        return fmt.embeddings(body)
    if url.endswith("/responses"):
        return response_object(body, fmt.reply_for(input_text(body.get("input")), None))
    return fmt.chat_completion(body, fmt.reply_for(fmt.last_user_text(body.get("messages")), None))


def batch_output(input_jsonl: bytes) -> tuple[bytes, int]:
    """The output file of a batch (one JSON line per input line) and its line count."""
    lines = []
    for raw in input_jsonl.splitlines():
        if not raw.strip():
            continue
        request = msgspec.json.decode(raw)
        answer = _batch_answer(str(request.get("url", "")), request.get("body") or {})
        lines.append(
            fmt.encode(
                {
                    "id": new_id("batch_req_"),
                    "custom_id": request.get("custom_id"),
                    "response": {
                        "status_code": 200,
                        "request_id": new_id("req_"),
                        "body": answer,
                    },
                    "error": None,
                }
            )
        )
    return b"\n".join(lines) + b"\n", len(lines)


def fine_tuning_job(body: dict) -> dict:
    hyper = body.get("hyperparameters") or {}
    return {
        "id": new_id("ftjob-"),
        "object": "fine_tuning.job",
        "model": body.get("model"),
        "created_at": now(),
        "finished_at": None,
        "fine_tuned_model": None,
        "organization_id": "org-mock",
        "result_files": [],
        "status": "validating_files",
        "validation_file": body.get("validation_file"),
        "training_file": body.get("training_file"),
        "hyperparameters": {
            "n_epochs": hyper.get("n_epochs", "auto"),
            "batch_size": hyper.get("batch_size", "auto"),
            "learning_rate_multiplier": hyper.get("learning_rate_multiplier", "auto"),
        },
        "trained_tokens": None,
        "error": None,
        "seed": body.get("seed", 42),
        "estimated_finish": None,
        "integrations": [],
        "metadata": body.get("metadata"),
        "method": body.get("method") or {"type": "supervised"},
        "user_provided_suffix": body.get("suffix"),
    }


def fine_tuning_event(job_id: str, message: str, level: str = "info") -> dict:
    return {
        "id": new_id("ftevent-"),
        "object": "fine_tuning.job.event",
        "created_at": now(),
        "level": level,
        "message": message,
        "data": {"job_id": job_id},
        "type": "message",
    }


def fine_tuning_checkpoints(job: dict) -> list[dict]:
    return [
        {
            "id": f"ftckpt_{job['id']}_{step}",
            "object": "fine_tuning.job.checkpoint",
            "created_at": job["created_at"],
            "fine_tuned_model_checkpoint": f"ft:{job['model']}:mock::ckpt-step-{step}",
            "fine_tuning_job_id": job["id"],
            "metrics": {
                "step": step,
                "train_loss": round(1 / step, 4),
                "train_mean_token_accuracy": 0.9,
            },
            "step_number": step,
        }
        for step in (10, 20)
    ]


# --- Responses API ----------------------------------------------------------------------


def input_text(raw: object) -> str:
    """The last user text of a Responses ``input`` (a string or a list of items)."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        for item in reversed(raw):
            if isinstance(item, dict) and item.get("role") == "user":
                return fmt._text_of(item.get("content"))
    return ""


def input_items(raw: object) -> list[dict]:
    """The stored input items, as ``GET /v1/responses/{id}/input_items`` lists them."""
    items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if isinstance(content, str):
            content = [{"type": "input_text", "text": content}]
        out.append(
            {
                "id": new_id("msg_"),
                "type": item.get("type", "message"),
                "role": item.get("role", "user"),
                "status": "completed",
                "content": content,
            }
        )
    return out


def response_usage(body: dict, reply: str) -> dict:
    items = body.get("input")
    texts = (
        [items]
        if isinstance(items, str)
        else [fmt._text_of(i.get("content")) for i in items or () if isinstance(i, dict)]
    )
    prompt = sum(fmt.words(t) for t in texts) + fmt.words(body.get("instructions") or "")
    output = fmt.words(reply)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + output,
    }


def _message(item_id: str, text: str, status: str = "completed") -> dict:
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}] if text else [],
    }


def response_object(body: dict, reply: str, response_id: str | None = None) -> dict:
    return {
        "id": response_id or new_id("resp_"),
        "object": "response",
        "created_at": now(),
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model", "mock-model"),
        "output": [_message(new_id("msg_"), reply)],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": response_usage(body, reply),
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _event(kind: str, seq: int, **fields) -> bytes:
    payload = {"type": kind, "sequence_number": seq, **fields}
    return b"event: " + kind.encode() + b"\ndata: " + fmt.encode(payload) + b"\n\n"


def response_stream(final: dict, pieces: int | None) -> Iterator[tuple[bytes, bool]]:
    """The Responses API's stream for ``final``: (event bytes, is content). No [DONE]:
    the API ends with ``response.completed``."""
    item = final["output"][0]
    text = item["content"][0]["text"] if item["content"] else ""
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    where = {"item_id": item["id"], "output_index": 0, "content_index": 0}
    seq = count()
    yield _event("response.created", next(seq), response=started), False
    yield _event("response.in_progress", next(seq), response=started), False
    yield (
        _event(
            "response.output_item.added",
            next(seq),
            output_index=0,
            item=_message(item["id"], "", "in_progress"),
        ),
        False,
    )
    empty = {"type": "output_text", "text": "", "annotations": []}
    yield _event("response.content_part.added", next(seq), **where, part=empty), False
    for piece in fmt.split_reply(text, pieces):
        yield (
            _event("response.output_text.delta", next(seq), **where, delta=piece, logprobs=[]),
            True,
        )
    yield _event("response.output_text.done", next(seq), **where, text=text, logprobs=[]), False
    part = {"type": "output_text", "text": text, "annotations": []}
    yield _event("response.content_part.done", next(seq), **where, part=part), False
    yield _event("response.output_item.done", next(seq), output_index=0, item=item), False
    yield _event("response.completed", next(seq), response=final), False


def response_error_event(message: str | None) -> bytes:
    return _event(
        "error", 0, code="server_error", message=message or "mock stream failure", param=None
    )
