"""The mock provider as a real process on a free port, one per test module (modules that
start their own keep doing so; theirs wins over this one)."""

import pytest
from portcullis_stack.servers import mock_process


@pytest.fixture(scope="module")
def mock_url(tmp_path_factory):
    proc = mock_process(tmp_path_factory.mktemp("mock") / "mock.log").start()
    yield f"http://127.0.0.1:{proc.port}"
    proc.stop()
