"""The ``spawn`` fixture: start a watched child; teardown kills whatever it started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from portcullis_stack.watched import Watched


@pytest.fixture
def spawn() -> Iterator:
    children: list[Watched] = []

    def start(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> Watched:
        child = Watched(argv, env, cwd)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill_group()
