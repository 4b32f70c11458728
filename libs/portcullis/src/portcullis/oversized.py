"""Events too big for one NATS message (decision 0005): the whole event is put into the
JetStream Object Store bucket ``PK_OVERSIZED`` (chunked, acked chunk by chunk) under its
id, and a small reference takes its place on the subject: the same event without its
bodies, with the object's name in the ``Portcullis-Object`` header. The bucket lives on
the bus already running, so the gateway needs no new store or credentials; the logger
reads the object, writes the log, acks, then deletes it.

nats-py's ``ObjectStore.put`` and ``delete`` are used as they are, its ``get`` is not:
without ``writeinto`` it grows the result by ``bytes +=`` chunk by chunk (750 ms for
10 MB) and its ordered push consumer reads ~4x slower than a pull fetch (900 vs 210 ms
for 20 MB). ``fetch`` below pulls the chunks of the object's current version and checks
the digest in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, ObjectMeta, ObjectMetaOptions
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore

from portcullis.events import NULL_RAW, decode_log, encode
from portcullis.subjects import OVERSIZED_BUCKET

OBJECT_HEADER = "Portcullis-Object"
# Room left in max_payload for the message's headers (msg id, traceparent, object name):
# the server counts them against the limit, nats-py's own check does not.
HEADER_ROOM = 4096
# Chunks: half a max_payload, at most 1 MiB. Measured for 20 MB on one machine: 128 KiB
# chunks 142 ms a put, 512 KiB 98 ms, 1000 KiB 94 ms; each chunk is one acked publish.
_CHUNK_MAX = 1 << 20
_FETCH_BATCH = 64
_STREAM = f"OBJ_{OVERSIZED_BUCKET}"


class ObjectCorrupt(Exception):
    """The chunks read back do not match the object's digest (or count)."""


def fits(size: int, max_payload: int) -> bool:
    """Whether a message body of ``size`` bytes goes out as one NATS message."""
    return size + HEADER_ROOM <= max_payload


def reference(data: bytes) -> bytes:
    """The message that stands in for an oversized ``RequestLogged``: all of it but the
    two bodies, so the request is logged even if its object were ever lost."""
    event = decode_log(data)
    return encode(msgspec.structs.replace(event, request_body=NULL_RAW, response_body=NULL_RAW))


def _store(js: JetStreamContext) -> ObjectStore:
    # Built directly: js.object_store() would ask for the stream's info on every call.
    return ObjectStore(name=OVERSIZED_BUCKET, stream=_STREAM, js=js)


async def put(js: JetStreamContext, name: str, data: bytes, max_payload: int) -> None:
    """Store ``data`` under ``name`` (a second put of the same name replaces it)."""
    chunk = max(min(max_payload // 2, _CHUNK_MAX), 1024)
    meta = ObjectMeta(name=name, options=ObjectMetaOptions(max_chunk_size=chunk))
    await _store(js).put(name, data, meta=meta)


async def fetch(js: JetStreamContext, name: str) -> bytes | None:
    """The object's bytes, or None when there is no such object (deleted, expired)."""
    try:
        info = await _store(js).get_info(name)
    except ObjectNotFoundError:
        return None
    if not info.size:
        return b""
    sub = await js.pull_subscribe(
        f"$O.{OVERSIZED_BUCKET}.C.{info.nuid}",
        stream=_STREAM,
        config=ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=30.0,
        ),
    )
    chunks = info.chunks or 0
    parts: list[bytes] = []
    try:
        while len(parts) < chunks:
            batch = await sub.fetch(min(chunks - len(parts), _FETCH_BATCH), timeout=5)
            parts.extend(msg.data for msg in batch)
    finally:
        await sub.unsubscribe()
    data = b"".join(parts)
    # sha256 releases the GIL: 20 MB hashed off the event loop.
    digest = await asyncio.to_thread(lambda: hashlib.sha256(data).digest())
    expected = (info.digest or "").partition("=")[2]
    if len(data) != info.size or base64.urlsafe_b64encode(digest).decode() != expected:
        raise ObjectCorrupt(f"object {name}: {len(data)} bytes read, digest mismatch")
    return data


async def delete(js: JetStreamContext, name: str) -> None:
    """Remove the object; one that is gone already is fine (a redelivery)."""
    try:
        await _store(js).delete(name)
    except ObjectNotFoundError:
        pass
