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
    # Issue 15: each new action its own permission.
    "post_permissions": "users:permissions:assign",
    "delete_permissions": "users:permissions:assign",
    "get_sessions_for_user": "users:sessions:read",
    "delete_sessions_for_user": "users:sessions:revoke",
    "get_session": "users:sessions:read",
    "delete_session": "users:sessions:revoke",
    "get_refresh_tokens_for_user": "users:sessions:read",
    "delete_refresh_tokens_for_user": "users:sessions:revoke",
    "get_refresh_token": "users:sessions:read",
    "delete_refresh_token": "users:sessions:revoke",
    "user_revoke_access": "users:sessions:revoke",
    "get_enrollments": "users:mfa:read",
    "get_authentication-methods": "users:mfa:read",
    "get_authentication-methods_by_authentication_method_id": "users:mfa:read",
    "delete_authentication-methods_by_authentication_method_id": "users:mfa:delete_method",
    "delete_authentication-methods": "users:mfa_reset",
    "post_invalidate-remember-browser": "users:mfa:invalidate_browser",
    "post_recovery-code-regeneration": "users:mfa:recovery_code",
    "delete_user_identity_by_user_id": "users:identities:unlink",
    "get_role_user": "roles:users:read",
    "get_user_organizations": "orgs:read",
    "get_organization_members": "orgs:read",
    "post_members": "orgs:members:manage",
    "delete_members": "orgs:members:manage",
    "get_organization_member_roles": "orgs:read",
    "post_organization_member_roles": "orgs:roles:assign",
    "delete_organization_member_roles": "orgs:roles:assign",
    "get_invitations": "orgs:read",
    "post_invitations": "orgs:invitations:manage",
    "delete_invitations_by_invitation_id": "orgs:invitations:manage",
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


def test_the_lock_out_action_has_its_own_permission() -> None:
    from app.catalog import GATEWAY_ACTIONS, LOCK_OUT_STEPS

    assert {op.operation_id: op.permission for op in GATEWAY_ACTIONS} == {
        "lock_out": "users:lock_out"}
    assert [(s.name, s.operation.operation_id) for s in LOCK_OUT_STEPS] == [
        ("block", "patch_users_by_id"), ("revoke_access", "user_revoke_access")]
