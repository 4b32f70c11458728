"""Virtual keys and saved configs over HTTP on a real database: secrets sealed (no
plaintext in any table) and shown masked, config versions, and isolation between
workspaces (another workspace's object is a 404, as if it did not exist)."""

from __future__ import annotations

SECRET = "sk-provider-secret-0123456789abcdef"
AWS_SECRET = "aws-secret-access-key-ABCDEFGHIJ"


async def test_virtual_key_secrets_are_sealed_and_masked(api, dump_tables) -> None:
    ws = await api.workspace("vk")
    c = api.client
    r = await c.post(
        "/v1/virtual-keys",
        json={"name": "main", "provider": "openai", "key": SECRET, "note": "n", "workspace_id": ws},
        headers=api.admin,
    )
    assert r.status_code == 200 and r.json()["success"] is True
    slug = r.json()["data"]["slug"]
    r = await c.post(
        "/v1/virtual-keys",
        json={
            "name": "aws",
            "provider": "bedrock",
            "awsAccessKeyId": "AKIAEXAMPLE0000",
            "awsSecretAccessKey": AWS_SECRET,
            "awsRegion": "eu-west-1",
            "workspace_id": ws,
        },
        headers=api.admin,
    )
    assert r.status_code == 200, r.text
    aws_slug = r.json()["data"]["slug"]

    shown = (await c.get(f"/v1/virtual-keys/{slug}", headers=api.admin)).json()
    assert shown["object"] == "virtual-key" and shown["provider"] == "openai"
    assert shown["key"] != SECRET and shown["key"].startswith("sk") and "*" in shown["key"]
    aws = (await c.get(f"/v1/virtual-keys/{aws_slug}", headers=api.admin)).json()
    assert aws["model_config"]["awsRegion"] == "eu-west-1"
    assert AWS_SECRET not in repr(aws)

    dumped = await dump_tables()
    assert SECRET not in dumped and AWS_SECRET not in dumped and "AKIAEXAMPLE0000" not in dumped

    new_secret = "sk-rotated-provider-secret-999999"
    r = await c.put(
        f"/v1/virtual-keys/{slug}", json={"key": new_secret, "note": "m"}, headers=api.admin
    )
    assert r.status_code == 200 and r.json()["data"]["key"].endswith("99")
    assert new_secret not in await dump_tables()

    listed = (await c.get(f"/v1/virtual-keys?workspace_id={ws}", headers=api.admin)).json()
    assert listed["object"] == "list" and listed["total"] == 2
    assert (await c.delete(f"/v1/virtual-keys/{slug}", headers=api.admin)).status_code == 200
    assert (await c.get(f"/v1/virtual-keys/{slug}", headers=api.admin)).status_code == 404


async def test_virtual_key_bad_input(api) -> None:
    ws = await api.workspace("vk-bad")
    c = api.client
    r = await c.post(
        "/v1/virtual-keys",
        json={"name": "x", "provider": "openai", "workspace_id": ws},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "key"
    r = await c.post(
        "/v1/virtual-keys",
        json={"name": "x", "provider": "Open AI!", "key": "k", "workspace_id": ws},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "provider"
    r = await c.post(
        "/v1/virtual-keys",
        json={"name": "x", "provider": "openai", "key": 12345, "workspace_id": ws},
        headers=api.admin,
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "key"
    assert "12345" not in r.text
    body = {"name": "dup", "provider": "openai", "key": "k-1", "workspace_id": ws}
    assert (await c.post("/v1/virtual-keys", json=body, headers=api.admin)).status_code == 200
    r = await c.post("/v1/virtual-keys", json=body, headers=api.admin)
    assert r.status_code == 409 and r.json()["error"]["param"] == "name"


async def test_config_versions(api) -> None:
    ws = await api.workspace("cfg")
    key = await api.workspace_key(
        ws, ["configs.create", "configs.read", "configs.update", "configs.list", "configs.delete"]
    )
    h = api.as_key(key)
    c = api.client
    r = await c.post(
        "/v1/configs", json={"name": "retry", "config": {"retry": {"attempts": 3}}}, headers=h
    )
    assert r.status_code == 200, r.text
    made = r.json()["data"]
    r = await c.put(
        f"/v1/configs/{made['slug']}", json={"config": {"retry": {"attempts": 5}}}, headers=h
    )
    v2 = r.json()["data"]["version_id"]
    assert v2 != made["version_id"]

    current = (await c.get(f"/v1/configs/{made['slug']}", headers=h)).json()["data"]
    assert current["config"] == {"retry": {"attempts": 5}} and current["version_id"] == v2
    old = (
        await c.get(f"/v1/configs/{made['slug']}?version_id={made['version_id']}", headers=h)
    ).json()["data"]
    assert old["config"] == {"retry": {"attempts": 3}} and old["version"] == 1
    versions = (await c.get(f"/v1/configs/{made['slug']}/versions", headers=h)).json()
    assert versions["total"] == 2 and [v["version_id"] for v in versions["data"]] == [
        v2,
        made["version_id"],
    ]

    listed = (await c.get("/v1/configs", headers=h)).json()
    assert listed["success"] is True and [x["slug"] for x in listed["data"]] == [made["slug"]]
    r = await c.post("/v1/configs", json={"name": "retry", "config": {}}, headers=h)
    assert r.status_code == 409
    r = await c.post("/v1/configs", json={"name": "bad", "config": [1]}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["param"] == "config"
    assert (await c.delete(f"/v1/configs/{made['slug']}", headers=h)).status_code == 200
    assert (await c.get(f"/v1/configs/{made['slug']}", headers=h)).status_code == 404


async def test_workspace_keys_never_see_another_workspace(api) -> None:
    a, b = await api.workspace("A"), await api.workspace("B")
    scopes = [
        "configs.create",
        "configs.read",
        "configs.list",
        "virtual_keys.create",
        "virtual_keys.read",
        "virtual_keys.list",
        "workspaces.read",
    ]
    ka = api.as_key(
        await api.workspace_key(a, [s for s in scopes if not s.startswith("workspaces")])
    )
    kb = api.as_key(
        await api.workspace_key(b, [s for s in scopes if not s.startswith("workspaces")])
    )
    c = api.client
    cfg_b = (await c.post("/v1/configs", json={"name": "b", "config": {}}, headers=kb)).json()[
        "data"
    ]["slug"]
    vk_b = (
        await c.post(
            "/v1/virtual-keys", json={"name": "b", "provider": "openai", "key": "k-b"}, headers=kb
        )
    ).json()["data"]["slug"]
    await c.post("/v1/configs", json={"name": "a", "config": {}}, headers=ka)

    for path in (
        f"/v1/configs/{cfg_b}",
        f"/v1/virtual-keys/{vk_b}",
        f"/v1/configs/{cfg_b}/versions",
    ):
        r = await c.get(path, headers=ka)
        assert r.status_code == 404, path
    assert [x["name"] for x in (await c.get("/v1/configs", headers=ka)).json()["data"]] == ["a"]
    assert (await c.get("/v1/virtual-keys", headers=ka)).json()["total"] == 0
    # Naming the other workspace outright is a 404 too, on reads and creates.
    assert (await c.get(f"/v1/configs?workspace_id={b}", headers=ka)).status_code == 404
    r = await c.post("/v1/configs", json={"name": "x", "config": {}, "workspace_id": b}, headers=ka)
    assert r.status_code == 404
    # The organisation key sees both.
    assert (await c.get("/v1/configs", headers=api.admin)).json()["total"] == 2
