"""The official ``portkey-ai`` SDK's admin clients against the real control-plane
process (``python -m portcullis_control``, SQLite): workspaces, API keys, virtual keys
and configs created, listed, read, updated and deleted with the SDK unchanged."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from portcullis_control.domain.sealing import new_master_key_text
from portcullis_stack.servers import ManagedProcess, free_port, http_ready
from portkey_ai import Portkey

ADMIN = "sdk-admin-key-0123456789abcdefghij"


@pytest.fixture
def control_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = ManagedProcess(
        name=f"control-{port}",
        argv=[sys.executable, "-m", "portcullis_control"],
        ready=http_ready(f"http://127.0.0.1:{port}/v1/health"),
        log_path=tmp_path / "control.log",
        env={
            "PORTCULLIS_CONTROL_PORT": str(port),
            "PORTCULLIS_CONTROL_DATA_DIR": str(tmp_path / "data"),
            "PORTCULLIS_CONTROL_BOOTSTRAP_ADMIN_KEY": ADMIN,
            "PORTCULLIS_CONTROL_MASTER_KEY": new_master_key_text(),
        },
    )
    proc.start(timeout=60)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.stop()
    assert ADMIN not in proc.log_path.read_text()


def _f(item: Any, name: str) -> Any:
    """A field of an SDK answer: some are typed models, some plain dicts."""
    return item[name] if isinstance(item, dict) else getattr(item, name)


def test_sdk_admin_clients_work_unchanged(control_url: str) -> None:
    pk = Portkey(api_key=ADMIN, base_url=control_url)

    ws = pk.admin.workspaces.create(name="SDK team", description="made by the SDK")
    assert ws.name == "SDK team"
    assert [_f(w, "id") for w in pk.admin.workspaces.list().data] == [ws.id]
    assert pk.admin.workspaces.retrieve(workspace_id=ws.id).slug == ws.slug
    pk.admin.workspaces.update(workspace_id=ws.id, name="SDK team 2")
    assert pk.admin.workspaces.retrieve(workspace_id=ws.id).name == "SDK team 2"

    key = pk.api_keys.create(
        type="workspace",
        sub_type="service",
        name="sdk key",
        workspace_id=ws.id,
        scopes=["configs.read", "configs.list", "virtual_keys.list"],
    )
    assert key.key and key.id
    assert pk.api_keys.retrieve(id=key.id).name == "sdk key"
    assert key.id in [_f(k, "id") for k in pk.api_keys.list(workspace_id=ws.id).data]
    pk.api_keys.update(id=key.id, name="sdk key 2")
    assert pk.api_keys.retrieve(id=key.id).name == "sdk key 2"

    vk = pk.virtual_keys.create(
        name="sdk vk", provider="openai", key="sk-sdk-provider-secret-1234", workspace_id=ws.id
    )
    slug = _f(_f(vk, "data"), "slug")
    got = pk.virtual_keys.retrieve(slug=slug)
    assert got.slug == slug and "sk-sdk-provider-secret-1234" not in str(got)
    assert [_f(v, "slug") for v in pk.virtual_keys.list(workspace_id=ws.id).data] == [slug]
    pk.virtual_keys.update(slug=slug, name="sdk vk 2")
    assert pk.virtual_keys.retrieve(slug=slug).name == "sdk vk 2"

    cfg = pk.configs.create(name="sdk cfg", config={"retry": {"attempts": 3}}, workspace_id=ws.id)
    cfg_slug = _f(_f(cfg, "data"), "slug")
    pk.configs.update(slug=cfg_slug, config={"retry": {"attempts": 4}})
    got_cfg = pk.configs.retrieve(slug=cfg_slug)
    assert _f(_f(got_cfg, "data"), "config") == {"retry": {"attempts": 4}}
    assert [_f(c, "slug") for c in pk.configs.list(workspace_id=ws.id).data] == [cfg_slug]

    # The workspace key made above works through the SDK too, within its scopes.
    scoped = Portkey(api_key=key.key, base_url=control_url)
    assert [_f(c, "slug") for c in scoped.configs.list().data] == [cfg_slug]

    pk.configs.delete(slug=cfg_slug)
    pk.virtual_keys.delete(slug=slug)
    pk.api_keys.delete(id=key.id)
    pk.admin.workspaces.delete(workspace_id=ws.id)
    assert pk.admin.workspaces.list().data == []
