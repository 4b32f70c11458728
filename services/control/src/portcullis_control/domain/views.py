"""Rows as the API shows them (the spec's response shapes). Pure: a row in, a dict out;
secrets appear only masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portcullis_control.domain.clock import iso
from portcullis_control.domain.key_values import mask


def workspace(row: Mapping[str, Any], with_users: bool = False) -> dict[str, Any]:
    view = {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
        "created_at": iso(row["created_at"]),
        "last_updated_at": iso(row["last_updated_at"]),
        "defaults": {**(row["defaults"] or {}), "object": "workspace"},
        "usage_limits": row["usage_limits"] or [],
        "rate_limits": row["rate_limits"] or [],
        "object": "workspace",
    }
    if with_users:
        # Users (people) are not managed here yet; the spec's field is present and empty.
        view["users"] = []
    return view


def api_key(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "key": row["key_hint"],
        "name": row["name"],
        "description": row["description"],
        "type": f"{row['type']}-{row['sub_type']}",
        "organisation_id": row["organisation_id"],
        "workspace_id": row["workspace_id"],
        "user_id": row["user_id"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "last_updated_at": iso(row["last_updated_at"]),
        "creation_mode": row["creation_mode"],
        "rate_limits": row["rate_limits"] or [],
        "usage_limits": row["usage_limits"],
        "reset_usage": 0,
        "scopes": row["scopes"],
        "defaults": row["defaults"] or {},
        "alert_emails": row["alert_emails"] or [],
        "expires_at": iso(row["expires_at"]),
        "object": "api-key",
    }


def virtual_key(row: Mapping[str, Any], secrets: Mapping[str, Any]) -> dict[str, Any]:
    config = dict(row["model_config"])
    # Cloud credentials show as masked fields of model_config, the provider key as "key".
    for name, value in secrets.items():
        if name != "key":
            config[name] = mask(value if isinstance(value, str) else str(value))
    return {
        "id": row["id"],
        "slug": row["slug"],
        "name": row["name"],
        "provider": row["provider"],
        "key": mask(str(secrets.get("key", ""))),
        "note": row["note"],
        "status": row["status"],
        "workspace_id": row["workspace_id"],
        "usage_limits": row["usage_limits"],
        "reset_usage": 0,
        "rate_limits": row["rate_limits"],
        "created_at": iso(row["created_at"]),
        "last_updated_at": iso(row["last_updated_at"]),
        "expires_at": iso(row["expires_at"]),
        "model_config": config,
        "object": "virtual-key",
    }


def config_summary(row: Mapping[str, Any], organisation_id: str) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "organisation_id": organisation_id,
        "workspace_id": row["workspace_id"],
        "is_default": row["is_default"],
        "status": row["status"],
        "owner_id": row["owner_id"],
        "updated_by": row["updated_by"],
        "created_at": iso(row["created_at"]),
        "last_updated_at": iso(row["last_updated_at"]),
        "version_id": row["current_version_id"],
    }


def config(
    row: Mapping[str, Any], version: Mapping[str, Any], organisation_id: str
) -> dict[str, Any]:
    return {
        **config_summary(row, organisation_id),
        "config": version["config"],
        "version_id": version["id"],
        "version": version["version"],
    }


def config_version(
    row: Mapping[str, Any], version: Mapping[str, Any], organisation_id: str
) -> dict[str, Any]:
    return {
        **config_summary(row, organisation_id),
        "id": version["id"],
        "name": version["name"],
        "config": version["config"],
        "version": version["version"],
        "version_id": version["id"],
        "created_at": iso(version["created_at"]),
        "object": "config-version",
    }


def audit_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "timestamp": iso(row["timestamp"]),
        "method": row["method"],
        "uri": row["uri"],
        "request_id": row["request_id"],
        "user_id": row["user_id"],
        "user_type": row["user_type"],
        "organisation_id": row["organisation_id"],
        "workspace_id": row["workspace_id"],
        "response_status_code": row["response_status_code"],
        "resource_type": row["resource_type"],
        "action": row["action"],
        "client_ip": row["client_ip"],
    }
