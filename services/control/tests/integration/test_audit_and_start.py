"""The audit trail, the bootstrap key across restarts, master-key rotation, and the
error shape of what no route answers — each on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from portcullis_control.adapters.db.engine import make_engine
from portcullis_control.app import create_app
from portcullis_control.domain.sealing import new_master_key_text
from portcullis_control.entrypoints.cli import rotate
from portcullis_control.settings import ControlSettings
from pydantic import SecretStr

WIDE = "?start_time=2000-01-01T00:00:00Z&end_time=2100-01-01T00:00:00Z"


async def _scalar(settings: ControlSettings, sql: str) -> object:
    engine = make_engine(settings.resolved_database_url())
    try:
        async with engine.connect() as conn:
            return (await conn.execute(sa.text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def test_every_mutating_call_is_audited_without_secrets(
    api, settings: ControlSettings, admin_key: str, dump_tables
) -> None:
    c = api.client
    ws = await api.workspace("audited")
    await c.post(
        "/v1/virtual-keys",
        json={
            "name": "v",
            "provider": "openai",
            "key": "sk-audit-secret-123456",
            "workspace_id": ws,
        },
        headers=api.admin,
    )
    await c.post("/v1/configs", json={"name": "c", "config": {}}, headers=api.admin)  # 400
    await c.delete("/v1/configs/none", headers=api.as_key("wrong-key"))  # 401

    records = (await c.get(f"/v1/audit-logs{WIDE}", headers=api.admin)).json()
    assert records["total"] == 4
    by_outcome = {
        (r["method"], r["resource_type"], r["action"], r["response_status_code"])
        for r in records["records"]
    }
    assert by_outcome == {
        ("POST", "workspaces", "create", 200),
        ("POST", "virtual_keys", "create", 200),
        ("POST", "configs", "create", 400),
        ("DELETE", "configs", "delete", 401),
    }
    admin_id = next(r["user_id"] for r in records["records"] if r["response_status_code"] == 200)
    assert admin_id is not None
    vk = next(r for r in records["records"] if r["resource_type"] == "virtual_keys")
    assert vk["workspace_id"] == ws and vk["user_id"] == admin_id
    unauth = next(r for r in records["records"] if r["response_status_code"] == 401)
    assert unauth["user_id"] is None

    only_400 = (
        await c.get(f"/v1/audit-logs{WIDE}&response_status_code=400", headers=api.admin)
    ).json()
    assert only_400["total"] == 1
    audit_rows = await _scalar(settings, "SELECT COUNT(*) FROM audit_logs")
    assert audit_rows == 4
    dumped = await dump_tables()
    assert "sk-audit-secret" not in dumped and admin_key not in dumped and "wrong-key" not in dumped

    r = await c.get("/v1/audit-logs", headers=api.admin)
    assert r.status_code == 400 and r.json()["error"]["param"] == "start_time"


async def test_bootstrap_key_is_idempotent_across_restarts(
    settings: ControlSettings, admin_key: str
) -> None:
    for _ in range(3):
        async with AsyncTestClient(app=create_app(settings)) as client:
            r = await client.get("/v1/admin/workspaces", headers={"x-portkey-api-key": admin_key})
            assert r.status_code == 200
    assert await _scalar(settings, "SELECT COUNT(*) FROM api_keys") == 1


async def test_master_key_rotation_rewraps_and_secrets_still_open(
    settings: ControlSettings, admin_key: str
) -> None:
    h = {"x-portkey-api-key": admin_key}
    async with AsyncTestClient(app=create_app(settings)) as client:
        ws = (await client.post("/v1/admin/workspaces", json={"name": "rot"}, headers=h)).json()[
            "id"
        ]
        r = await client.post(
            "/v1/virtual-keys",
            json={
                "name": "v",
                "provider": "openai",
                "key": "sk-before-rotation-42",
                "workspace_id": ws,
            },
            headers=h,
        )
        slug = r.json()["data"]["slug"]
    before = await _scalar(settings, "SELECT master_key_id FROM data_keys")

    new_key = new_master_key_text()
    assert await rotate(settings, new_key) == 1
    after = await _scalar(settings, "SELECT master_key_id FROM data_keys")
    assert after != before
    rotated = settings.model_copy(update={"master_key": SecretStr(new_key)})
    # Run again with the new key configured: nothing left to move.
    assert await rotate(rotated, new_key) == 0
    async with AsyncTestClient(app=create_app(rotated)) as client:
        shown = (await client.get(f"/v1/virtual-keys/{slug}", headers=h)).json()
        assert shown["key"].endswith("42")
        # The old master key no longer opens it: a server error, no detail leaked.
    async with AsyncTestClient(app=create_app(settings)) as client:
        r = await client.get(f"/v1/virtual-keys/{slug}", headers=h)
        assert r.status_code == 500 and r.json()["error"]["message"] == "internal error"


def test_rotation_from_the_command_line(tmp_path: Path) -> None:
    old, new = new_master_key_text(), new_master_key_text()
    (tmp_path / "new.key").write_text(new)
    env = {
        **os.environ,
        "PORTCULLIS_CONTROL_DATA_DIR": str(tmp_path),
        "PORTCULLIS_CONTROL_MASTER_KEY": old,
    }
    argv = [
        sys.executable,
        "-m",
        "portcullis_control",
        "rotate-master-key",
        "--new-key-file",
        str(tmp_path / "new.key"),
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "re-wrapped 0 data key(s)" in done.stderr
    bad = subprocess.run(
        [*argv[:-1], str(tmp_path / "missing.key")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0


async def test_errors_of_no_route_have_the_shape(api) -> None:
    r = await api.client.get("/v1/no-such-thing", headers=api.admin)
    assert r.status_code == 404 and set(r.json()["error"]) == {"message", "type", "param", "code"}
    r = await api.client.patch("/v1/configs", headers=api.admin)
    assert r.status_code == 405 and "error" in r.json()
    big = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    r = await api.client.post("/v1/admin/workspaces", content=big, headers=api.admin)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
