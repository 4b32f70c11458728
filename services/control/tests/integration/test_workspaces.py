"""/v1/admin/workspaces over HTTP on a real database: the spec's shapes, 409 on a
duplicate name, 400 naming the field, 404 for what is not there."""

from __future__ import annotations


async def test_workspace_lifecycle(api) -> None:
    c = api.client
    r = await c.post(
        "/v1/admin/workspaces",
        json={"name": "Research", "description": "lab", "defaults": {"metadata": {"team": "r"}}},
        headers=api.admin,
    )
    assert r.status_code == 200
    made = r.json()
    assert made["object"] == "workspace" and made["name"] == "Research"
    assert made["slug"].startswith("ws-research-")
    assert made["defaults"]["metadata"] == {"team": "r"}

    by_slug = (await c.get(f"/v1/admin/workspaces/{made['slug']}", headers=api.admin)).json()
    assert by_slug["id"] == made["id"] and by_slug["users"] == []

    r = await c.put(
        f"/v1/admin/workspaces/{made['id']}", json={"name": "Research 2"}, headers=api.admin
    )
    assert r.status_code == 200 and r.json()["name"] == "Research 2"

    listed = (await c.get("/v1/admin/workspaces?exact_name=Research 2", headers=api.admin)).json()
    assert listed["object"] == "list" and [w["id"] for w in listed["data"]] == [made["id"]]

    assert (await c.delete(f"/v1/admin/workspaces/{made['id']}", headers=api.admin)).json() == {}
    r = await c.get(f"/v1/admin/workspaces/{made['id']}", headers=api.admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_duplicate_name_is_409_and_bad_field_is_400(api) -> None:
    await api.workspace("Twice")
    r = await api.client.post("/v1/admin/workspaces", json={"name": "Twice"}, headers=api.admin)
    assert r.status_code == 409
    assert r.json()["error"]["param"] == "name"

    r = await api.client.post("/v1/admin/workspaces", json={"name": 7}, headers=api.admin)
    assert r.status_code == 400
    assert (
        r.json()["error"]["param"] == "name"
        and r.json()["error"]["type"] == "invalid_request_error"
    )

    r = await api.client.post("/v1/admin/workspaces", content=b"{not json", headers=api.admin)
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]

    r = await api.client.get("/v1/admin/workspaces?page_size=0", headers=api.admin)
    assert r.status_code == 400 and r.json()["error"]["param"] == "page_size"


async def test_a_workspace_with_objects_is_not_deleted(api) -> None:
    ws = await api.workspace("Busy")
    await api.workspace_key(ws, ["configs.read"])
    r = await api.client.delete(f"/v1/admin/workspaces/{ws}", headers=api.admin)
    assert r.status_code == 409 and "API keys" in r.json()["error"]["message"]


async def test_paging(api) -> None:
    for n in range(3):
        await api.workspace(f"page-{n}")
    first = (await api.client.get("/v1/admin/workspaces?page_size=2", headers=api.admin)).json()
    second = (
        await api.client.get("/v1/admin/workspaces?page_size=2&current_page=1", headers=api.admin)
    ).json()
    assert first["total"] == second["total"] == 3
    names = [w["name"] for w in first["data"] + second["data"]]
    assert sorted(names) == ["page-0", "page-1", "page-2"]
