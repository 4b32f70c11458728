"""Bedrock embeddings: ``InvokeModel`` (``POST /model/{modelId}/invoke``) with the model
family's own body <-> OpenAI's ``/embeddings``; Converse has no embeddings.

Facts from the Bedrock model-parameter references: Amazon Titan Text Embeddings takes
one ``inputText`` a call (v2 adds ``dimensions`` 256 / 512 / 1024 and ``normalize``,
v1 takes nothing else) and answers ``embedding`` with ``inputTextTokenCount`` (v2 also
``embeddingsByType``); Cohere Embed takes ``texts`` with a required ``input_type`` (v4
also ``output_dimension``) and answers ``embeddings``, a list of float vectors (by type
when ``embedding_types`` was asked), its token count only in the
``X-Amzn-Bedrock-Input-Token-Count`` response header.
"""

from __future__ import annotations

import math
from typing import Any

from portcullis_gateway.providers._openai_shapes import embeddings_list
from portcullis_gateway.providers.base import (
    DROP,
    AdapterError,
    Param,
    ParamMap,
)

# Cohere's retrieval default, as on Cohere's own API (providers/cohere.py).
DEFAULT_INPUT_TYPE = "search_document"
TITAN_V2_DIMENSIONS = (256, 512, 1024)
# Cohere's token count is only in a response header, which the request path puts in
# the usage (BedrockAdapter.input_tokens_header); this estimate from the texts, at
# OpenAI's average of four characters a token, stands only if the header is missing.
_CHARS_PER_TOKEN = 4


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise AdapterError(
        "bedrock embeddings take text input only, not token arrays", code="unsupported_input"
    )


def _one_text(value: Any, body: dict) -> str:
    texts = _texts(value)
    if len(texts) != 1:
        # One call per target on the request path: fanning out would hide N calls
        # (and N bills) behind one log entry.
        raise AdapterError(
            f"amazon titan embeddings take one text per request, got {len(texts)}; "
            "send one request per text, or use a cohere.embed-* model for a list",
            code="too_many_inputs",
        )
    return texts[0]


def _text_list(value: Any, body: dict) -> list[str]:
    return _texts(value)


def _titan_dimensions(value: Any, body: dict) -> Any:
    if value not in TITAN_V2_DIMENSIONS:
        raise AdapterError(
            f"amazon titan text embeddings v2 takes dimensions 256, 512 or 1024, got {value}",
            code="unsupported_dimensions",
        )
    return value


def _consumed(value: Any, body: dict) -> Any:
    return DROP  # the model goes in the path; base64 is built from the floats: no note


_COMMON: ParamMap = {
    "model": Param("model", transform=_consumed),
    "encoding_format": Param("encoding_format", transform=_consumed),
}
TITAN_V1: ParamMap = {**_COMMON, "input": Param("inputText", transform=_one_text)}
TITAN_V2: ParamMap = {
    **TITAN_V1,
    "dimensions": Param("dimensions", transform=_titan_dimensions),
    # OpenAI's vectors are unit length; asked for explicitly so the log shows it.
    "normalize": Param("normalize", default=True),
}
COHERE: ParamMap = {
    **_COMMON,
    "input": Param("texts", transform=_text_list),
    "input_type": Param("input_type", default=DEFAULT_INPUT_TYPE),
    "truncate": Param("truncate"),
}
COHERE_V4: ParamMap = {**COHERE, "dimensions": Param("output_dimension")}

# First prefix that matches wins, so the narrower ones come first.
FAMILIES: tuple[tuple[str, ParamMap], ...] = (
    ("amazon.titan-embed-text-v1", TITAN_V1),
    ("amazon.titan-embed-g1-text", TITAN_V1),
    ("amazon.titan-embed-text", TITAN_V2),
    ("cohere.embed-v4", COHERE_V4),
    ("cohere.embed", COHERE),
)


def params_for(model: str) -> ParamMap:
    """The family's parameter map for a model id, a cross-region profile id
    (``us.cohere.embed-v4:0``) or a foundation-model ARN (``...:foundation-model/<id>``)."""
    name = model.rsplit("/", 1)[-1]
    for candidate in (name, name.partition(".")[2]):
        for prefix, params in FAMILIES:
            if candidate.startswith(prefix):
                return params
    raise AdapterError(
        f"bedrock embeddings support amazon.titan-embed-text-* and cohere.embed-* models, "
        f"not {model!r}",
        code="unsupported_model",
    )


def _estimated_tokens(texts: list) -> int:
    return sum(math.ceil(len(t) / _CHARS_PER_TOKEN) for t in texts if isinstance(t, str))


def _vectors_and_tokens(body: dict, request: dict) -> tuple[list, int] | None:
    if "embedding" in body or "embeddingsByType" in body:  # Titan
        vector = body.get("embedding") or (body.get("embeddingsByType") or {}).get("float")
        return [vector or []], int(body.get("inputTextTokenCount") or 0)
    if "embeddings" in body:  # Cohere
        raw = body["embeddings"]
        vectors = (raw.get("float") or []) if isinstance(raw, dict) else raw
        texts = body.get("texts")
        if not isinstance(texts, list):
            sent = request.get("input")
            texts = [sent] if isinstance(sent, str) else sent if isinstance(sent, list) else []
        return vectors or [], _estimated_tokens(texts)
    return None


def embeddings_answer(body: Any, request: dict) -> dict | None:
    """OpenAI's embeddings list for a Titan or Cohere answer; None when ``body`` is
    neither (the caller maps it as an error)."""
    found = _vectors_and_tokens(body, request) if isinstance(body, dict) else None
    if found is None:
        return None
    vectors, tokens = found
    as_base64 = request.get("encoding_format") == "base64"
    return embeddings_list(vectors, request.get("model", ""), tokens, as_base64)
