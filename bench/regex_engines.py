"""Compile and match cost of the candidate engines for conditional routing's ``$regex``
(docs/decisions/0006-regex-engine.md has the figures). The candidates are not project
dependencies: install them in a scratch venv (pyre2 and google-re2 both install a module
named ``re2``, so one venv each) and run

    python bench/regex_engines.py re | regex | google-re2 | pyre2 | re2-worst
"""

from __future__ import annotations

import random
import re
import statistics
import string
import sys
import time
import timeit

NORMAL = [
    r"^gpt-4",
    r"(?i)claude",
    r"^/v1/chat/completions$",
    r"^(gpt-4o|gpt-4o-mini|o3-mini)$",
    r"\bprod\b",
    r"^[a-z]+-\d+(\.\d+)?$",
    r"team-(alpha|beta|gamma)-[0-9]{2,4}",
]
TEXTS = ["gpt-4o-mini", "claude-3-5-sonnet", "/v1/chat/completions", "env prod eu", "team-beta-042"]
PATHOLOGICAL = [
    (r"(a+)+$", "a" * 30 + "!"),
    (r"(a|aa)+$", "a" * 30 + "!"),
    (r"(x+x+)+y", "x" * 30),
    (r"^(\w+\s?)*$", "word " * 10 + "!"),
]


def best(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def measure(name, compile_fn, search_fn, pathological=True) -> None:
    print(f"== {name}")
    costs = []
    for pattern in NORMAL:
        n = [0]

        def fresh(pattern=pattern, n=n):
            n[0] += 1  # a new pattern each time: no engine cache
            compile_fn(f"{pattern}(?:#{n[0]})?")

        costs.append(best(fresh, 200))
    print(f"compile normal: median {statistics.median(costs) * 1e6:.1f} us")
    compiled = [compile_fn(p) for p in NORMAL]
    calls = [best(lambda rx=rx, t=t: search_fn(rx, t), 5000) for rx in compiled for t in TEXTS]
    print(
        f"search short: median {statistics.median(calls) * 1e9:.0f} ns, max {max(calls) * 1e9:.0f} ns"
    )
    big = "".join(random.choice(string.ascii_lowercase + " ") for _ in range(1_000_000))
    rx = compile_fn(r"team-(alpha|beta)-[0-9]+")
    print(f"search 1 MB, no match: {best(lambda: search_fn(rx, big), 3) * 1e3:.2f} ms")
    for pattern, text in PATHOLOGICAL if pathological else ():
        rx = compile_fn(pattern)
        started = time.perf_counter()
        try:
            outcome = "match" if search_fn(rx, text) else "no match"
        except Exception as exc:  # noqa: BLE001 — regex's TimeoutError, reported
            outcome = type(exc).__name__
        print(
            f"{pattern!r} on {len(text)} chars: {(time.perf_counter() - started) * 1e3:.3f} ms ({outcome})"
        )


def re2_worst() -> None:
    """RE2's NFA fallback: a DFA that cannot fit, on random a/b text."""
    import re2

    for n in (20, 100, 1000):
        options = re2.Options()
        options.never_capture, options.log_errors, options.max_mem = True, False, 1 << 20
        rx = re2.compile(f"(a|b)*a(a|b){{{n}}}c", options)
        for length in (4096, 65536):
            text = "".join(random.choice("ab") for _ in range(length))
            started = time.perf_counter()
            rx.search(text)
            took = (time.perf_counter() - started) * 1e3
            print(f"program {rx.programsize}, text {length}: {took:.1f} ms")


def main(which: str) -> None:
    if which == "re":
        for n in (18, 20, 22, 24):  # 30 would take minutes
            started = time.perf_counter()
            re.search(r"(a+)+$", "a" * n + "!")
            print(f"re (a+)+$ on {n + 1} chars: {(time.perf_counter() - started) * 1e3:.0f} ms")
        measure("re", re.compile, lambda rx, t: rx.search(t), pathological=False)
    elif which == "regex":
        import regex

        measure("regex, timeout 0.05 s", regex.compile, lambda rx, t: rx.search(t, timeout=0.05))
    elif which in ("google-re2", "pyre2"):
        import re2

        measure(which, re2.compile, lambda rx, t: rx.search(t))
    elif which == "re2-worst":
        re2_worst()


if __name__ == "__main__":
    main(sys.argv[1])
