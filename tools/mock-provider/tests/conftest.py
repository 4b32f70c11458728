"""The mock provider as a real process on a free port, one per test module (modules that
start their own keep doing so; theirs wins over this one)."""

import sys

import pytest
from portcullis_stack.servers import ManagedProcess, free_port, http_ready


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory):
    port = free_port()
    proc = ManagedProcess(
        name="mock-provider",
        argv=[sys.executable, "-m", "mock_provider", "--host", "127.0.0.1", "--port", str(port)],
        ready=http_ready(f"http://127.0.0.1:{port}/health"),
        log_path=tmp_path_factory.mktemp("mock") / "mock.log",
    ).start()
    yield f"http://127.0.0.1:{port}"
    proc.stop()
