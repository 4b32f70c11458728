"""Command line and server start-up for the mock provider."""

from __future__ import annotations

import argparse
import os

from granian import Granian
from granian.constants import Interfaces, Loops


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mock_provider", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("PORTCULLIS_MOCK_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORTCULLIS_MOCK_PORT", "8790"))
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("PORTCULLIS_MOCK_WORKERS", "1"))
    )
    return parser.parse_args(argv)


def serve(host: str, port: int, workers: int = 1) -> None:
    Granian(
        "mock_provider.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        workers=workers,
        log_access=False,
    ).serve()
