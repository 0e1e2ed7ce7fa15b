"""Routes of the Management API subset, built from the spec-derived operation table."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.typing import ResponseReturnValue

from emulator.errors import ManagementError, render_management_error
from emulator.management import (
    guard,
    identities,
    mfa,
    organizations,
    others,
    permissions,
    provisioning,
    role_users,
    sessions,
    users,
)
from emulator.management.spec import operations

Handler = Callable[..., ResponseReturnValue]

HANDLERS: dict[str, Handler] = {
    "get_users": users.get_users,
    "post_users": users.post_users,
    "get_users-by-email": users.get_users_by_email,
    "get_users_by_id": users.get_user,
    "patch_users_by_id": users.patch_user,
    "delete_users_by_id": users.delete_user,
    "get_user_roles": users.get_user_roles,
    "post_user_roles": users.post_user_roles,
    "delete_user_roles": users.delete_user_roles,
    "get_permissions": permissions.get_user_permissions,
    "post_permissions": permissions.post_user_permissions,
    "delete_permissions": permissions.delete_user_permissions,
    "get_logs_by_user": users.get_user_logs,
    "delete_authenticators": mfa.delete_all_mfa,
    "get_user-blocks_by_id": others.get_user_blocks,
    "delete_user-blocks_by_id": others.delete_user_blocks,
    "post_password-change": others.post_password_change,
    "post_verification-email": others.post_verification_email,
    "get_roles": others.get_roles,
    "get_role_user": role_users.get_role_users,
    # Sessions and refresh tokens, Enterprise plans only (emulator/management/sessions.py).
    "get_sessions_for_user": sessions.get_user_sessions,
    "delete_sessions_for_user": sessions.delete_user_sessions,
    "get_session": sessions.get_session,
    "delete_session": sessions.delete_session,
    "get_refresh_tokens_for_user": sessions.get_user_refresh_tokens,
    "delete_refresh_tokens_for_user": sessions.delete_user_refresh_tokens,
    "get_refresh_token": sessions.get_refresh_token,
    "delete_refresh_token": sessions.delete_refresh_token,
    "user_revoke_access": sessions.post_revoke_access,
    # MFA detail (emulator/management/mfa.py).
    "get_enrollments": mfa.get_enrollments,
    "get_authentication-methods": mfa.get_authentication_methods,
    "delete_authentication-methods": mfa.delete_all_mfa,
    "get_authentication-methods_by_authentication_method_id": mfa.get_authentication_method,
    "delete_authentication-methods_by_authentication_method_id":
        mfa.delete_authentication_method,
    "post_invalidate-remember-browser": mfa.post_invalidate_remember_browser,
    "post_recovery-code-regeneration": mfa.post_recovery_code_regeneration,
    "delete_user_identity_by_user_id": identities.delete_user_identity,
    # Organizations (emulator/management/organizations.py).
    "get_user_organizations": organizations.get_user_organizations,
    "get_organization_members": organizations.get_organization_members,
    "post_members": organizations.post_organization_members,
    "delete_members": organizations.delete_organization_members,
    "get_organization_member_roles": organizations.get_organization_member_roles,
    "post_organization_member_roles": organizations.post_organization_member_roles,
    "delete_organization_member_roles": organizations.delete_organization_member_roles,
    "get_invitations": organizations.get_invitations,
    "post_invitations": organizations.post_invitation,
    "delete_invitations_by_invitation_id": organizations.delete_invitation,
    # Provisioning (emulator/management/provisioning.py).
    "get_resource-servers": provisioning.get_resource_servers,
    "post_resource-servers": provisioning.post_resource_server,
    "get_resource-servers_by_id": provisioning.get_resource_server,
    "patch_resource-servers_by_id": provisioning.patch_resource_server,
    "get_clients": provisioning.get_clients,
    "post_clients": provisioning.post_client,
    "get_clients_by_id": provisioning.get_client,
    "patch_clients_by_id": provisioning.patch_client,
    "get_client-grants": provisioning.get_client_grants,
    "post_client-grants": provisioning.post_client_grant,
    "patch_client-grants_by_id": provisioning.patch_client_grant,
    "post_roles": provisioning.post_role,
    "get_role_permission": provisioning.get_role_permissions,
    "post_role_permission_assignment": provisioning.post_role_permissions,
    "delete_role_permission_assignment": provisioning.delete_role_permissions,
    "get_actions": provisioning.get_actions,
    "post_action": provisioning.post_action,
    "get_action": provisioning.get_action,
    "patch_action": provisioning.patch_action,
    "post_deploy_action": provisioning.post_deploy_action,
    "get_bindings": provisioning.get_bindings,
    "patch_bindings": provisioning.patch_bindings,
}


def install(app: Flask) -> None:
    ops = operations()
    missing = set(ops) ^ set(HANDLERS)
    if missing:
        raise RuntimeError(f"operations without handler or spec entry: {sorted(missing)}")
    guard.install(app)
    for op_id, op in ops.items():
        app.add_url_rule(op.flask_rule, endpoint=guard.ENDPOINT_PREFIX + op_id,
                         view_func=HANDLERS[op_id], methods=[op.method])
    app.register_error_handler(ManagementError, render_management_error)
