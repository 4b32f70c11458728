"""OpenAI's wire format for images, audio, moderations and rerank, and the ids and list
pages every OpenAI object endpoint shares. Pure functions with deterministic output,
shaped as the API reference documents them (files, batches and fine-tuning jobs are in
``openai_jobs_format``, the Responses API in ``responses_format``)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from itertools import count

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
