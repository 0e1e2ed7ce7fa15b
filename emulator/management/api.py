"""Routes of the Management API subset, built from the spec-derived operation table."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.typing import ResponseReturnValue

from emulator.errors import ManagementError, render_management_error
from emulator.management import guard, others, provisioning, users
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
    "get_permissions": users.get_user_permissions,
    "get_logs_by_user": users.get_user_logs,
    "delete_authenticators": users.delete_authenticators,
    "get_user-blocks_by_id": others.get_user_blocks,
    "delete_user-blocks_by_id": others.delete_user_blocks,
    "post_password-change": others.post_password_change,
    "post_verification-email": others.post_verification_email,
    "get_roles": others.get_roles,
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
