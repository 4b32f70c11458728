"""Local disk spool for events that could not be published: append-only segment files
of length-prefixed, checksummed frames, replayed when NATS is back.

Each worker process owns a directory ``<spool_dir>/w-<pid>`` held with an exclusive
``flock`` for its lifetime. A directory whose lock is free belongs to a worker that
died, so any live worker adopts its segments (moves them into its own directory) and
replays them. File I/O runs in a thread; the event loop never waits on the disk.

What can never be published (a frame that does not decode, a corrupt or torn tail, a
message JetStream refuses for good) goes to ``<spool_dir>/dead-letters/``, one file per
entry in the same frame format, so it never blocks the entries behind it and is never
deleted unseen (decision 0005).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")  # payload length, crc32
_SUFFIX = ".seg"
DEAD_LETTER_DIR = "dead-letters"


class SpooledMessage(msgspec.Struct, array_like=True):
    subject: str
    msg_id: str
    headers: dict[str, str]
    data: bytes


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(SpooledMessage).decode


def frame(message: SpooledMessage) -> bytes:
    payload = _encode(message)
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


class Poison(msgspec.Struct, frozen=True):
    """Bytes of a segment that are no message: ``reason`` is ``undecodable`` (intact
    frame, not a SpooledMessage), ``corrupt`` (checksum mismatch: the rest of the segment,
    whose lengths cannot be trusted) or ``torn`` (a frame cut short by a crash)."""

    offset: int
    reason: str
    data: bytes


def read_frames(data: bytes) -> Iterator[SpooledMessage | Poison]:
    """Every frame in order; what is not a message comes as ``Poison``, never skipped."""
    offset = 0
    size = len(data)
    while offset < size:
        if offset + _HEADER.size > size:
            yield Poison(offset, "torn", data[offset:])
            return
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if len(payload) < length:
            yield Poison(offset, "torn", data[offset:])
            return
        if zlib.crc32(payload) != crc:
            yield Poison(offset, "corrupt", data[offset:])
            return
        try:
            yield _decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            yield Poison(offset, "undecodable", data[offset : start + length])
        offset = start + length


class Spool:
    def __init__(self, root: str | Path, segment_max_bytes: int) -> None:
        self.root = Path(root)
        self.segment_max_bytes = segment_max_bytes
        self.dir = self.root / f"w-{os.getpid()}"
        self.dead_dir = self.root / DEAD_LETTER_DIR
        self._lock_file = None
        self._current = None
        self._current_path: Path | None = None
        self._current_size = 0
        self._io_lock = threading.Lock()
        self.bytes = 0  # spooled and not yet replayed, for the gauge

    @property
    def is_open(self) -> bool:
        return self._lock_file is not None

    def open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.dir / ".lock", "w")  # noqa: SIM115 — held for life
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self.bytes = sum(p.stat().st_size for p in self.dir.glob(f"*{_SUFFIX}"))

    def close(self) -> None:
        with self._io_lock:
            self._close_current()
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
        # An empty directory of ours is noise for the next start.
        try:
            remaining = [p for p in self.dir.iterdir() if p.name != ".lock"]
            if not remaining:
                (self.dir / ".lock").unlink(missing_ok=True)
                self.dir.rmdir()
        except OSError:
            pass

    # --- writing ------------------------------------------------------------------

    async def append(self, messages: list[SpooledMessage]) -> None:
        await asyncio.to_thread(self.append_sync, messages)

    def append_sync(self, messages: list[SpooledMessage]) -> None:
        data = b"".join(frame(m) for m in messages)
        with self._io_lock:
            if self._current is None:
                self._current_path = self.dir / f"{time.time_ns():020d}{_SUFFIX}"
                self._current = open(self._current_path, "ab")  # noqa: SIM115
                self._current_size = 0
            self._current.write(data)
            self._current.flush()
            # The events exist nowhere else: make them survive a crash of the machine.
            os.fsync(self._current.fileno())
            self._current_size += len(data)
            self.bytes += len(data)
            if self._current_size >= self.segment_max_bytes:
                self._close_current()

    def _close_current(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
            self._current_path = None

    # --- replay -------------------------------------------------------------------

    def has_data(self) -> bool:
        return self.bytes > 0

    def sealed_segments(self) -> list[Path]:
        """Close the segment being written and list every segment, oldest first. Listed
        under the lock: a segment an append opens afterwards is not read (or removed)
        while it is being written."""
        self.adopt_orphans()
        with self._io_lock:
            self._close_current()
            return sorted(self.dir.glob(f"*{_SUFFIX}"))

    def adopt_orphans(self) -> None:
        if not self.root.is_dir():
            return
        for other in self.root.iterdir():
            if other == self.dir or not other.is_dir() or not other.name.startswith("w-"):
                continue
            lock_path = other / ".lock"
            try:
                with open(lock_path, "a") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a live worker owns it
                    for segment in other.glob(f"*{_SUFFIX}"):
                        target = self.dir / segment.name
                        segment.rename(target)
                        with self._io_lock:
                            self.bytes += target.stat().st_size
                        log.info("adopted spool segment", extra={"segment": str(target)})
                    lock_path.unlink(missing_ok=True)
                    other.rmdir()
            except OSError as exc:
                log.warning(
                    "could not adopt spool dir", extra={"dir": str(other), "error": str(exc)}
                )

    def read_segment(self, path: Path) -> list[SpooledMessage | Poison]:
        return list(read_frames(path.read_bytes()))

    def dead_letter(self, name: str, data: bytes) -> bool:
        """Park ``data`` as ``dead-letters/<name>`` (written whole, fsynced, then renamed
        into place). False when it is there already: a replay interrupted after parking
        it parks it again, and that must neither duplicate nor count twice."""
        self.dead_dir.mkdir(parents=True, exist_ok=True)
        target = self.dead_dir / name
        if target.exists():
            return False
        partial = target.with_name(f".{name}.partial")
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target)
        return True

    def remove_segment(self, path: Path) -> None:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        with self._io_lock:
            self.bytes = max(0, self.bytes - size)
