"""Writes ``gateway-openapi.json``: the OpenAPI description the fuzzing suite drives.

It is the part of Portkey's public OpenAPI description (github.com/Portkey-AI/openapi,
MIT licence) that covers the routes our README documents, with its prose removed
(descriptions, summaries, examples, code samples) and its security schemes replaced by
the headers the suite sends, plus `/messages` (Anthropic's Messages API, which Portkey's
document does not describe) and the `x-portkey-*` headers the gateway reads. Run it
again when the routes change::

    python tests/fuzz/build_schema.py path/to/portkey-openapi.yaml
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).with_name("gateway-openapi.json")

# The routes the README documents, as the gateway serves them under /v1.
ROUTES = {
    "/chat/completions": ("post",),
    "/completions": ("post",),
    "/embeddings": ("post",),
    "/rerank": ("post",),
    "/moderations": ("post",),
    "/images/generations": ("post",),
    "/models": ("get",),
    "/logs/{logId}": ("get",),
    "/analytics/graphs/requests": ("get",),
    "/analytics/graphs/cost": ("get",),
    "/analytics/graphs/tokens": ("get",),
    "/analytics/graphs/latency": ("get",),
    "/analytics/graphs/requests/rescued": ("get",),
}
PROSE = {"description", "summary", "example", "examples", "x-code-samples", "externalDocs"}

# Headers the gateway reads on every inference route; hostile values for each are the
# point, so they are plain strings here and optional.
GATEWAY_HEADERS = [
    "x-portkey-config",
    "x-portkey-metadata",
    "x-portkey-request-timeout",
    "x-portkey-trace-id",
    "x-portkey-span-id",
    "x-portkey-forward-headers",
    "traceparent",
]

# Anthropic's Messages API, the fields the gateway reads (a subset of the real one).
_CONTENT_BLOCK = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["text", "image", "tool_use", "tool_result"]},
        "text": {"type": "string"},
    },
    "required": ["type"],
}
MESSAGES = {
    "post": {
        "operationId": "createMessage",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["model", "max_tokens", "messages"],
                        "properties": {
                            "model": {"type": "string"},
                            "max_tokens": {"type": "integer", "minimum": 1},
                            "stream": {"type": "boolean"},
                            "system": {
                                "oneOf": [
                                    {"type": "string"},
                                    {"type": "array", "items": _CONTENT_BLOCK},
                                ]
                            },
                            "messages": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["role", "content"],
                                    "properties": {
                                        "role": {
                                            "type": "string",
                                            "enum": ["user", "assistant"],
                                        },
                                        "content": {
                                            "oneOf": [
                                                {"type": "string"},
                                                {"type": "array", "items": _CONTENT_BLOCK},
                                            ]
                                        },
                                    },
                                },
                            },
                            "tools": {"type": "array", "items": {"type": "object"}},
                            "temperature": {"type": "number"},
                        },
                    }
                }
            },
        },
        "responses": {"200": {"description": "a message"}},
    }
}


def _strip(node: Any, *, names: bool = False) -> Any:
    # Under "properties" the keys are field names (a tool's "description" is a field).
    if isinstance(node, dict):
        return {
            k: _strip(v, names=k == "properties" and not names)
            for k, v in node.items()
            if names or k not in PROSE
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def build(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in ROUTES.items():
        item = spec["paths"][path]
        paths[path] = {}
        for method in methods:
            operation = dict(item[method])
            operation.pop("security", None)
            operation.pop("tags", None)
            headers = [
                {"in": "header", "name": name, "required": False, "schema": {"type": "string"}}
                for name in GATEWAY_HEADERS
            ]
            if method == "post":
                operation["parameters"] = [
                    p
                    for p in operation.get("parameters", [])
                    if not p.get("$ref", "").endswith(("PortkeyTraceId", "PortkeySpanId"))
                ] + headers
            paths[path][method] = operation
    paths["/messages"] = {"post": {**MESSAGES["post"], "parameters": headers}}

    # Only the components the chosen paths reach, followed transitively.
    wanted: set[str] = set()
    _refs(paths, wanted)
    components: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    while wanted - seen:
        ref = sorted(wanted - seen)[0]
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        target = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = target
        _refs(target, wanted)
    return _strip(
        {
            "openapi": spec["openapi"],
            "info": {"title": "Portcullis gateway routes (fuzzing)", "version": "1"},
            "servers": [{"url": "/v1"}],
            "paths": paths,
            "components": components,
        }
    )


def main() -> None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(Path(sys.argv[1]).read_text(), Loader=loader)
    OUT.write_text(json.dumps(build(spec), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
