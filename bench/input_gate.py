"""Per-call CPU cost of the gateway's input gate (issue 10), before and after, on
bodies of the shapes that matter: the hot path's peek (+ UTF-8 check), the decoded
paths' depth scan + decode + field check, and the JSON headers' depth check.

A micro-benchmark, not a load test: each figure is the best of several repeats of
thread CPU time, so a busy machine inflates it less than wall time would. Compare
the before/after columns of one run, not runs with each other."""

from __future__ import annotations

import argparse
import json
import time
import timeit

import msgspec
from portcullis_gateway.domain.bodies import RequestPeek, peek_request
from portcullis_gateway.domain.json_input import check_depth, decode_object, json_depth
from portcullis_gateway.domain.request_types import ChatRequest, check_fields

_peek_only = msgspec.json.Decoder(RequestPeek).decode


def _us(call, number: int, repeat: int) -> float:
    best = min(timeit.repeat(call, number=number, repeat=repeat, timer=time.thread_time))
    return best / number * 1e6


def _bodies() -> dict[str, bytes]:
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "lorem ipsum dolor " * 30}
        for i in range(110)
    ]
    tool = {
        "type": "function",
        "function": {
            "name": "f",
            "parameters": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }
    code = 'def f(x):\n    return {"a": [x]}\n' * 60
    return {
        "chat 1 KB": json.dumps({"model": "m", "messages": turns[:1]}).encode(),
        "chat 64 KB ASCII": json.dumps({"model": "m", "messages": turns}).encode(),
        "chat 64 KB UTF-8 text": json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": "héllo wörld " * 100}] * 45},
            ensure_ascii=False,
        ).encode(),
        "chat 64 KB code (escaped quotes)": json.dumps(
            {"model": "m", "messages": [{"role": "user", "content": code}] * 30}
        ).encode(),
        "chat 40 KB with 60 tools": json.dumps(
            {"model": "m", "messages": turns[:50], "tools": [tool] * 60}
        ).encode(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=200, help="calls per repeat")
    parser.add_argument("--repeat", type=int, default=7, help="repeats (the best is kept)")
    args = parser.parse_args()
    n, r = args.number, args.repeat
    bodies = _bodies()
    print("hot path, body passed on untouched: peek (model, stream) -> + UTF-8 check")
    for name, body in bodies.items():
        before = _us(lambda b=body: _peek_only(b), n, r)
        after = _us(lambda b=body: peek_request(b), n, r)
        print(f"  {name:34} {len(body):6} B  {before:7.1f} -> {after:7.1f} us")
    print("decoded paths: decode -> depth scan + decode + field check (scan alone)")
    for name, body in bodies.items():
        before = _us(lambda b=body: msgspec.json.decode(b), n, r)
        after = _us(lambda b=body: check_fields(decode_object(b), ChatRequest), n, r)
        scan = _us(lambda b=body: json_depth(b), n, r)
        print(f"  {name:34} {before:7.1f} -> {after:7.1f} us  (scan {scan:6.1f} us)")
    print("headers, per request")
    small = json.dumps({"targets": [{"provider": "openai"}, {"provider": "anthropic"}]})
    large = json.dumps({"targets": [{"provider": "openai", "retry": {"attempts": 2}}] * 40})
    metadata = json.dumps({"_user": "u-1", "env": "prod"})
    for name, text in (("config", small), ("config", large), ("metadata", metadata)):
        cost = _us(lambda t=text, w=name: check_depth(t, w), n * 10, r)
        print(f"  depth check, {name} {len(text)} B: {cost:.2f} us (a config: once per text)")


if __name__ == "__main__":
    main()
