import fcntl
import os
import zlib

from portcullis_gateway.adapters.spool import (
    _HEADER,
    Poison,
    Spool,
    SpooledMessage,
    frame,
    read_frames,
)


def message(i: int) -> SpooledMessage:
    return SpooledMessage("pk.logs.ws", f"id-{i}", {"Nats-Msg-Id": f"id-{i}"}, b'{"n":%d}' % i)


def test_frames_roundtrip_and_what_is_no_message_comes_back_as_poison():
    frames = [frame(message(i)) for i in range(3)]
    data = b"".join(frames)
    assert [m.msg_id for m in read_frames(data)] == ["id-0", "id-1", "id-2"]

    *intact, torn = read_frames(data[:-3])
    assert [m.msg_id for m in intact] == ["id-0", "id-1"]
    assert torn == Poison(len(frames[0]) * 2, "torn", frames[2][:-3])

    corrupt = bytearray(data)
    corrupt[-1] ^= 0xFF
    *intact, bad = read_frames(bytes(corrupt))
    assert len(intact) == 2 and (bad.reason, bad.offset) == ("corrupt", len(frames[0]) * 2)

    # A frame whose checksum holds but whose payload is no SpooledMessage: parked, and
    # the frames behind it still read.
    payload = b"\x93not a message"
    undecodable = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
    entries = list(read_frames(frames[0] + undecodable + frames[1]))
    assert entries[0].msg_id == "id-0" and entries[2].msg_id == "id-1"
    assert entries[1] == Poison(len(frames[0]), "undecodable", undecodable)


def test_a_dead_letter_is_written_once(tmp_path):
    spool = Spool(tmp_path, 1_000_000)
    assert spool.dead_letter("x.seg", b"abc") is True
    assert spool.dead_letter("x.seg", b"other") is False
    assert (tmp_path / "dead-letters" / "x.seg").read_bytes() == b"abc"
    assert [p.name for p in (tmp_path / "dead-letters").iterdir()] == ["x.seg"]


def test_spool_appends_seals_reads_and_removes(tmp_path):
    spool = Spool(tmp_path, segment_max_bytes=10_000_000)
    spool.open()
    spool.append_sync([message(1), message(2)])
    spool.append_sync([message(3)])
    assert spool.has_data()
    segments = spool.sealed_segments()
    assert len(segments) == 1
    assert [m.msg_id for m in spool.read_segment(segments[0])] == ["id-1", "id-2", "id-3"]
    assert spool.read_segment(segments[0])[0].headers == {"Nats-Msg-Id": "id-1"}
    spool.append_sync([message(4)])  # after sealing, a new segment
    assert len(spool.sealed_segments()) == 2
    for segment in spool.sealed_segments():
        spool.remove_segment(segment)
    assert not spool.has_data() and spool.bytes == 0
    spool.close()
    assert not spool.dir.exists()  # an empty spool leaves nothing behind


def test_segments_roll_at_the_size_limit(tmp_path):
    spool = Spool(tmp_path, segment_max_bytes=1)
    spool.open()
    spool.append_sync([message(1)])
    spool.append_sync([message(2)])
    assert len(spool.sealed_segments()) == 2
    spool.close()


def test_orphaned_spool_of_a_dead_worker_is_adopted(tmp_path):
    dead = tmp_path / "w-999999"
    dead.mkdir()
    (dead / "00000000000000000001.seg").write_bytes(frame(message(7)))
    (dead / ".lock").write_text("")
    alive = tmp_path / "w-888888"
    alive.mkdir()
    (alive / "00000000000000000002.seg").write_bytes(frame(message(8)))
    with open(alive / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a live worker's lock (other open file)
        spool = Spool(tmp_path, segment_max_bytes=10_000_000)
        spool.open()
        segments = spool.sealed_segments()
        assert [m.msg_id for s in segments for m in spool.read_segment(s)] == ["id-7"]
        assert not dead.exists()
        assert (alive / "00000000000000000002.seg").exists()
        spool.close()
    assert os.listdir(tmp_path)  # the live one is untouched
