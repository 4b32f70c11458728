import time

from portcullis_stack.health import HealthCheck, wait_healthy


def _flaky(passes_after: int):
    calls = {"n": 0}

    def check() -> bool:
        calls["n"] += 1
        return calls["n"] > passes_after

    return check


def test_returns_nothing_pending_once_every_check_passes_and_reports_each_once():
    seen = []
    checks = [HealthCheck("a", "GET a", _flaky(0)), HealthCheck("b", "GET b", _flaky(2))]
    pending = wait_healthy(checks, time.monotonic() + 30, seen.append, interval=0)
    assert pending == []
    assert [c.name for c in seen] == ["a", "b"]


def test_returns_the_checks_that_never_passed_when_the_deadline_is_over():
    never = HealthCheck("gateway", "GET /v1/health", lambda: False)
    ok = HealthCheck("nats", "GET /healthz", lambda: True)
    pending = wait_healthy([never, ok], time.monotonic(), interval=0)
    assert pending == [never]


def test_stops_waiting_when_asked_to():
    never = HealthCheck("gateway", "GET /v1/health", lambda: False)
    pending = wait_healthy([never], time.monotonic() + 3600, should_stop=lambda: True)
    assert pending == [never]
