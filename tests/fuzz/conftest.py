from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.platform import Platform

# Status classes of every fuzzed answer, summed over the session and printed at the end
# (`make fuzz` runs a longer session; its figures go in the issue notes).
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    running = Platform(tmp_path_factory.mktemp("fuzz-platform")).build().start()
    yield running
    running.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        figures = ", ".join(f"{TALLY[k]} {k}" for k in sorted(TALLY) if k != "cases")
        terminalreporter.write_line(f"fuzz: {TALLY['cases']} cases ({figures})")
