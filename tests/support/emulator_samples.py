"""One valid request per Management API operation the emulator serves.

Paths and bodies may hold ``{alice}``-style placeholders, replaced by the
user_id of that demo alias; ``{role:Support Reader}`` by a role id; ``{victim}``
by a seeded user no test relies on.
"""

from __future__ import annotations

import json
import re
from typing import Any

from emulator.tenant import Tenant

# operationId -> (method, path under /api/v2, requests kwargs)
SAMPLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "get_users": ("GET", "/users", {"params": {"q": "app_metadata.department:support"}}),
    "post_users": ("POST", "/users", {"json": {
        "connection": "Username-Password-Authentication", "email": "sample.new@example.com",
        "password": "correct horse battery staple"}}),
    "get_users-by-email": ("GET", "/users-by-email", {"params": {"email": "alice@example.com"}}),
    "get_users_by_id": ("GET", "/users/{alice}", {}),
    "patch_users_by_id": ("PATCH", "/users/{dave}", {"json": {"user_metadata": {"k": "v"}}}),
    "delete_users_by_id": ("DELETE", "/users/{victim}", {}),
    "get_user_roles": ("GET", "/users/{alice}/roles", {}),
    "post_user_roles": ("POST", "/users/{dave}/roles",
                        {"json": {"roles": ["{role:Support Reader}"]}}),
    "delete_user_roles": ("DELETE", "/users/{alice}/roles",
                          {"json": {"roles": ["{role:Support Reader}"]}}),
    "get_permissions": ("GET", "/users/{bob}/permissions", {}),
    "get_logs_by_user": ("GET", "/users/{alice}/logs", {}),
    "delete_authenticators": ("DELETE", "/users/{alice}/authenticators", {}),
    "get_user-blocks_by_id": ("GET", "/user-blocks/{alice}", {}),
    "delete_user-blocks_by_id": ("DELETE", "/user-blocks/{alice}", {}),
    "post_password-change": ("POST", "/tickets/password-change",
                             {"json": {"user_id": "{alice}", "result_url": "https://x.test/"}}),
    "post_verification-email": ("POST", "/jobs/verification-email",
                                {"json": {"user_id": "{alice}"}}),
    "get_roles": ("GET", "/roles", {}),
}

_PLACEHOLDER = re.compile(r"\{(role:)?([A-Za-z][A-Za-z ]*)\}")


def victim(tenant: Tenant) -> str:
    """A seeded database user without an alias or role (deterministic per seed)."""
    aliased = set(tenant.aliases.values())
    return next(uid for uid in sorted(tenant.users)
                if uid.startswith("auth0|") and uid not in aliased and uid not in tenant.user_roles)


def _resolve(text: str, tenant: Tenant, *, quote_ids: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return next(r.id for r in tenant.roles.values() if r.name == match.group(2))
        user_id = victim(tenant) if match.group(2) == "victim" else tenant.user_id(match.group(2))
        return user_id.replace("|", "%7C") if quote_ids else user_id
    return _PLACEHOLDER.sub(replace, text)


def sample(op_id: str, tenant: Tenant) -> tuple[str, str, dict[str, Any]]:
    method, path, kwargs = SAMPLES[op_id]
    resolved = json.loads(_resolve(json.dumps(kwargs), tenant, quote_ids=False))
    return method, _resolve(path, tenant, quote_ids=True), resolved


def spec_template(op_id: str) -> str:
    """The spec path of a sample ("/users/{id}")."""
    return re.sub(r"\{[a-z]+\}", "{id}", SAMPLES[op_id][1])
