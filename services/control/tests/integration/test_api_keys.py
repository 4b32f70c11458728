"""API keys and identity over HTTP on a real database: the value shown once and stored
only as a keyed hash, scopes checked (403 naming the scope), expiry and deletion ending
access (401), no key minting a stronger one."""

from __future__ import annotations

import datetime as dt


async def test_key_value_is_shown_once_and_stored_only_hashed(api, dump_tables) -> None:
    ws = await api.workspace("keys")
    r = await api.client.post(
        "/v1/api-keys/workspace/service",
        json={
            "name": "svc",
            "scopes": ["configs.read"],
            "workspace_id": ws,
            "defaults": {"config_id": "pc-x"},
        },
        headers=api.admin,
    )
    made = r.json()
    assert made["object"] == "api-key" and len(made["key"]) >= 40

    shown = (await api.client.get(f"/v1/api-keys/{made['id']}", headers=api.admin)).json()
    assert shown["type"] == "workspace-service" and shown["workspace_id"] == ws
    assert shown["scopes"] == ["configs.read"] and shown["defaults"] == {"config_id": "pc-x"}
    assert made["key"] not in shown["key"] and "*" in shown["key"]

    dumped = await dump_tables()
    assert made["key"] not in dumped
    assert "test-admin-key" not in dumped


async def test_missing_unknown_expired_and_deleted_keys_get_401(api) -> None:
    c = api.client
    r = await c.get("/v1/configs")
    assert r.status_code == 401 and "x-portkey-api-key" in r.json()["error"]["message"]
    assert (await c.get("/v1/configs", headers=api.as_key("nope"))).status_code == 401

    ws = await api.workspace("expiry")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()
    expired = await api.workspace_key(ws, ["configs.list"], expires_at=past)
    assert (await c.get("/v1/configs", headers=api.as_key(expired))).status_code == 401

    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    live = await api.workspace_key(ws, ["configs.list"], expires_at=future)
    assert (await c.get("/v1/configs", headers=api.as_key(live))).status_code == 200

    listed = (await c.get(f"/v1/api-keys?workspace_id={ws}", headers=api.admin)).json()
    assert listed["total"] == 2
    for key in listed["data"]:
        assert (await c.delete(f"/v1/api-keys/{key['id']}", headers=api.admin)).status_code == 200
    assert (await c.get("/v1/configs", headers=api.as_key(live))).status_code == 401


async def test_missing_scope_is_403_naming_it(api) -> None:
    ws = await api.workspace("scoped")
    key = await api.workspace_key(ws, ["configs.read"])
    r = await api.client.post(
        "/v1/configs", json={"name": "c", "config": {}}, headers=api.as_key(key)
    )
    assert r.status_code == 403
    assert r.json()["error"]["param"] == "configs.create"
    assert "configs.create" in r.json()["error"]["message"]


async def test_no_key_mints_a_stronger_one(api) -> None:
    ws = await api.workspace("mint")
    key = await api.workspace_key(ws, ["workspace_service_api_keys.create", "configs.read"])
    c = api.client
    r = await c.post(
        "/v1/api-keys/workspace/service",
        json={"name": "up", "scopes": ["configs.delete"]},
        headers=api.as_key(key),
    )
    assert r.status_code == 403 and r.json()["error"]["param"] == "configs.delete"
    # What it holds it may hand on; the new key lands in its own workspace.
    r = await c.post(
        "/v1/api-keys/workspace/service",
        json={"name": "ok", "scopes": ["configs.read"]},
        headers=api.as_key(key),
    )
    assert r.status_code == 200
    assert (await c.get(f"/v1/api-keys/{r.json()['id']}", headers=api.admin)).json()[
        "workspace_id"
    ] == ws
    # Organisation keys need an organisation scope the workspace key cannot hold.
    r = await c.post(
        "/v1/api-keys/organisation/service",
        json={"name": "org", "scopes": []},
        headers=api.as_key(key),
    )
    assert (
        r.status_code == 403
        and r.json()["error"]["param"] == "organisation_service_api_keys.create"
    )
    r = await c.post(
        "/v1/api-keys/workspace/service",
        json={"name": "x", "scopes": ["workspaces.create"], "workspace_id": ws},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "scopes"


async def test_bad_key_requests_are_400_naming_the_field(api) -> None:
    c = api.client
    r = await c.post(
        "/v1/api-keys/team/service", json={"name": "x", "scopes": []}, headers=api.admin
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "type"
    r = await c.post("/v1/api-keys/workspace/service", json={"name": "x"}, headers=api.admin)
    assert r.status_code == 400 and r.json()["error"]["param"] == "scopes"
    r = await c.post(
        "/v1/api-keys/workspace/service", json={"name": "x", "scopes": []}, headers=api.admin
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "workspace_id"
    r = await c.post(
        "/v1/api-keys/workspace/user",
        json={"name": "x", "scopes": [], "workspace_id": "w"},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "user_id"
    r = await c.post(
        "/v1/api-keys/workspace/service",
        json={"name": "x", "scopes": ["no.such"], "workspace_id": "w"},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "scopes"


async def test_update_changes_scopes(api) -> None:
    ws = await api.workspace("upd")
    key = await api.workspace_key(ws, ["configs.read"])
    listed = (await api.client.get(f"/v1/api-keys?workspace_id={ws}", headers=api.admin)).json()
    key_id = listed["data"][0]["id"]
    assert (await api.client.get("/v1/configs", headers=api.as_key(key))).status_code == 403
    r = await api.client.put(
        f"/v1/api-keys/{key_id}",
        json={"scopes": ["configs.list"], "name": "renamed"},
        headers=api.admin,
    )
    assert r.status_code == 200
    assert (await api.client.get("/v1/configs", headers=api.as_key(key))).status_code == 200
    assert (await api.client.get(f"/v1/api-keys/{key_id}", headers=api.admin)).json()[
        "name"
    ] == "renamed"
