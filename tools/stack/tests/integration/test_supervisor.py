"""The supervisor's stop semantics, with `sleep` children instead of real servers:
a requested stop exits 0, a failure or a child that dies does not, and every child
is gone afterwards, even one that ignores SIGTERM."""

import os
import sys
from pathlib import Path

from portcullis_stack.watched import pid_alive, started_pids

SCRIPT = str(Path(__file__).with_name("supervised.py"))
LONG = "exec sleep 120"


def _run(spawn, mode: str, stop_timeout: float, **children: str):
    argv = [sys.executable, SCRIPT, mode, str(stop_timeout)]
    argv += [f"{name}={cmd}" for name, cmd in children.items()]
    return spawn(argv, dict(os.environ))


def _all_started(watched, count: int) -> dict[str, int]:
    watched.wait_for(r"started \(pid=", timeout=20, count=count)
    return started_pids(watched.lines)


def test_sigterm_stops_every_child_and_exits_zero(spawn):
    run = _run(spawn, "ok", 5, one=LONG, two=LONG)
    run.wait_for(r"^hook ran$", timeout=20)
    pids = _all_started(run, 2)
    assert run.stop(timeout=20) == 0
    assert not [name for name, pid in pids.items() if pid_alive(pid)]
    assert "SIGTERM received" in run.output


def test_a_child_that_exits_stops_the_rest_and_the_run_fails(spawn):
    run = _run(spawn, "ok", 5, steady=LONG, brittle="sleep 0.5; exit 3")
    pids = _all_started(run, 2)
    assert run.proc.wait(20) == 3
    assert not pid_alive(pids["steady"])


def test_a_failed_readiness_hook_stops_everything_with_exit_one(spawn):
    run = _run(spawn, "fail", 5, one=LONG)
    pids = _all_started(run, 1)
    assert run.proc.wait(20) == 1
    assert "demo: not healthy" in run.output
    assert not pid_alive(pids["one"])


def test_a_child_ignoring_sigterm_is_killed_after_the_stop_timeout(spawn):
    stubborn = "trap '' TERM; while true; do sleep 0.2; done"
    run = _run(spawn, "ok", 1, stubborn=stubborn)
    pids = _all_started(run, 1)
    assert run.stop(timeout=20) == 0
    assert "sending SIGKILL to stubborn" in run.output
    assert not pid_alive(pids["stubborn"])


def test_children_stop_in_phases_each_after_the_previous_one_is_gone(spawn):
    run = _run(spawn, "ok", 5, front=LONG, middle=LONG, back=LONG)
    _all_started(run, 3)
    assert run.stop(timeout=20) == 0
    order = [
        line.split("| ", 1)[1]
        for line in run.lines
        if "sending SIGTERM to" in line or ("stopped (rc=" in line)
    ]
    events = [" ".join(entry.split()[:3]) for entry in order]
    assert events == [
        "sending SIGTERM to",
        "front stopped (rc=-15)",
        "sending SIGTERM to",
        "middle stopped (rc=-15)",
        "sending SIGTERM to",
        "back stopped (rc=-15)",
    ], order
    assert [e.split()[3] for e in order if e.startswith("sending")] == ["front", "middle", "back"]
