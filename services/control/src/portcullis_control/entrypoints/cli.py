"""The command line: serve the API (the default), make a master key, rotate the master
key (re-wrap every workspace's data key under a new one)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from portcullis.telemetry import configure_logging, configure_tracing

from portcullis_control.adapters.db.engine import make_engine, migrate
from portcullis_control.adapters.db.vault import rotate_master_key
from portcullis_control.domain.sealing import LocalKeyWrapper, new_master_key_text, parse_master_key
from portcullis_control.runtime import master_key_wrapper
from portcullis_control.settings import ControlSettings


def _serve(settings: ControlSettings) -> None:
    from portcullis_worker import serve

    from portcullis_control.app import create_app

    configure_logging("control", settings.log_level)
    configure_tracing("portcullis-control", settings.trace_exporter, settings.otlp_endpoint)
    serve(create_app(settings), settings.host, settings.port)


async def rotate(settings: ControlSettings, new_key_text: str) -> int:
    """Re-wraps every data key from the configured master key to ``new_key_text``, all
    in one transaction; returns how many moved. Then point the setting at the new key."""
    old = master_key_wrapper(settings)
    new = LocalKeyWrapper(parse_master_key(new_key_text))
    engine = make_engine(settings.resolved_database_url())
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            return await rotate_master_key(conn, old, new)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m portcullis_control")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API (the default)")
    commands.add_parser("new-master-key", help="print a new random master key (base64)")
    rotation = commands.add_parser(
        "rotate-master-key",
        help="re-wrap every data key under a new master key (the old one is the configured one)",
    )
    rotation.add_argument(
        "--new-key-file", type=Path, required=True, help="file holding the new master key (base64)"
    )
    args = parser.parse_args(argv)
    if args.command == "new-master-key":
        print(new_master_key_text())
        return
    settings = ControlSettings()
    if args.command == "rotate-master-key":
        moved = asyncio.run(rotate(settings, args.new_key_file.read_text()))
        print(
            f"re-wrapped {moved} data key(s); now set PORTCULLIS_CONTROL_MASTER_KEY(_FILE) "
            "to the new key and restart every replica",
            file=sys.stderr,
        )
        return
    _serve(settings)
