from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platform import Platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One whole platform shared by the tests of a module."""
    running = Platform(tmp_path_factory.mktemp("platform")).build().start()
    yield running
    running.stop()


@pytest.fixture
def own_platform(tmp_path: Path) -> Iterator[Platform]:
    """A platform of the test's own, for tests that kill parts of it."""
    running = Platform(tmp_path).build().start()
    yield running
    running.stop()
