"""The catalog's permissions, pinned by hand (issue 4's names), not read back from the code.

Everything else (routing, authorization tests, /gateway/me, the README tables)
derives from app/catalog.py; this table is the independent statement of what
each operation is supposed to need, so a wrong row cannot check itself.
"""

from __future__ import annotations

from app.catalog import BY_ID, CATALOG, PERMISSIONS

EXPECTED_PERMISSION = {
    "get_users": "users:read",
    "get_users-by-email": "users:read",
    "get_users_by_id": "users:read",
    "post_users": "users:create",
    "patch_users_by_id": "users:update",
    "delete_users_by_id": "users:delete",
    "get_user_roles": "users:roles:read",
    "post_user_roles": "users:roles:assign",
    "delete_user_roles": "users:roles:assign",
    "get_permissions": "users:roles:read",
    "get_logs_by_user": "users:logs:read",
    "get_user-blocks_by_id": "users:read",
    "delete_user-blocks_by_id": "users:block",
    "post_password-change": "users:password_reset",
    "post_verification-email": "users:update",
    "delete_authenticators": "users:mfa_reset",
    "get_roles": "roles:read",
}

# PATCH /users/{id}: what a body touching only that field needs (issue 4).
EXPECTED_PATCH = {
    "blocked": {"users:block"},
    "app_metadata": {"users:update_app_metadata"},
    "user_metadata": {"users:update_metadata"},
    "name": {"users:update"},
    "email": {"users:update"},
}


def test_every_operation_needs_the_expected_permission() -> None:
    assert {op.operation_id: op.permission for op in CATALOG} == EXPECTED_PERMISSION


def test_patch_fields_need_their_own_permission() -> None:
    patch = BY_ID["patch_users_by_id"]
    for field, needed in EXPECTED_PATCH.items():
        assert patch.required_permissions([field]) == needed, field
    assert patch.required_permissions(["name", "blocked"]) == {"users:update", "users:block"}
    assert "password" in patch.forbidden_fields


def test_create_with_app_metadata_needs_both_permissions() -> None:
    create = BY_ID["post_users"]
    assert create.required_permissions(["email", "connection"]) == {"users:create"}
    assert create.required_permissions(["app_metadata"]) == {
        "users:create", "users:update_app_metadata"}


def test_every_permission_named_is_known() -> None:
    named = set(EXPECTED_PERMISSION.values()) | set().union(*EXPECTED_PATCH.values())
    assert named <= set(PERMISSIONS)
