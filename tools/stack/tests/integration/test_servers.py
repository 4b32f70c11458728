import asyncio
import io

import nats
import redis
from minio import Minio


def test_nats_jetstream_answers(nats_server):
    async def roundtrip() -> int:
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await js.add_stream(name="SMOKE", subjects=["smoke.>"])
        ack = await js.publish("smoke.one", b"x")
        await nc.close()
        return ack.seq

    assert asyncio.run(roundtrip()) == 1


def test_valkey_answers(valkey_server):
    client = redis.Redis.from_url(valkey_server.url)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_s3_roundtrip(s3_server):
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    if not client.bucket_exists("smoke"):
        client.make_bucket("smoke")
    client.put_object("smoke", "a/b.json", io.BytesIO(b'{"ok":1}'), 8)
    assert client.get_object("smoke", "a/b.json").read() == b'{"ok":1}'


def test_a_server_that_never_gets_ready_is_not_left_running(tmp_path):
    from portcullis_stack.servers import ManagedProcess

    sleeper = ManagedProcess(
        name="never-ready",
        argv=["sleep", "60"],
        ready=lambda: False,
        log_path=tmp_path / "never-ready.log",
    )
    try:
        sleeper.start(timeout=0.5)
    except TimeoutError:
        pass
    else:
        raise AssertionError("start() should have timed out")
    assert sleeper.proc is not None and sleeper.proc.poll() is not None
