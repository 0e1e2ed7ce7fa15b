"""The operation catalog: every Management API operation the gateway exposes.

One row per operation. Routing, authorization, tier choice, the OpenAPI
document, `/gateway/me` and the tests that walk every row all read this table;
anything not in it is a 404 that never reaches the token broker or Auth0
(default deny).

The Management API scopes each operation accepts are not typed here: they are
read from `auth0_spec.json`, the subset of Auth0's official OpenAPI document
that `scripts/extract_auth0_spec.py` derives (a test checks it against the
full document).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

SPEC_FILE = Path(__file__).with_name("auth0_spec.json")
API_PREFIX = "/api/v2"

# Scopes that Auth0's spec lists but which only act on the token's own user
# (user-context tokens); a client-credentials tier can never rely on them.
CURRENT_USER_SCOPES = frozenset({"read:current_user", "update:current_user_metadata",
                                 "delete:current_user"})
# Scopes that grant more than their operation needs from the gateway:
# read:user_idp_tokens makes Auth0 return identity-provider tokens.
NEVER_CHOSEN_SCOPES = frozenset({"read:user_idp_tokens"})

# Every gateway permission, with what it allows (README and policy validation use this).
PERMISSIONS: dict[str, str] = {
    "users:read": "List, search and read users (also by email) and their brute-force blocks.",
    "users:update": "Change a user's profile fields (name, email, phone, username, picture, "
                    "verification flags) and send verification emails.",
    "users:block": "Block or unblock a user (`blocked`) and clear brute-force blocks.",
    "users:update_metadata": "Change `user_metadata`.",
    "users:update_app_metadata": "Change `app_metadata` (often drives authorization: keep rare).",
    "users:create": "Create users.",
    "users:delete": "Delete users.",
    "users:roles:read": "Read a user's roles and effective permissions.",
    "users:roles:assign": "Assign roles to and remove roles from a user.",
    "users:logs:read": "Read a user's log events.",
    "users:password_reset": "Create password-change tickets.",
    "users:mfa_reset": "Remove a user's MFA authenticators.",
    "roles:read": "List the tenant's roles.",
    "audit:read": "Read the gateway's audit trail (`/gateway/audit`; together with the "
                  "unrestricted scope permission, since the trail names every user).",
    "users:scope:all": "See and act on every user, whatever the delegated scope rules "
                       "(`[scope]` in the policy) would restrict.",
    "users:manage_protected": "Change users who hold a protected role (`[protection]` in the "
                              "policy).",
    "approvals:decide": "Approve or reject other administrators' requests held for four-eyes "
                        "approval (`[approvals]` in the policy; together with the unrestricted "
                        "scope permission, since the queue names every user).",
}


# How delegated scope (app/guards/scope.py) reads an operation's users:
# - "query": a search; the caller's q is restricted and every answer is checked;
# - "results": a lookup; every answer is checked;
# - "target": one user (`target_user`) is read and checked before the call;
# - "target-answer": as "target", and that read is the answer (GET /users/{id});
# - "new-user": the body creates a user who must land inside the caller's scope;
# - "none": no user is involved (e.g. the tenant's roles).
ScopeCheck = Literal["query", "results", "target", "target-answer", "new-user", "none"]
# Auth0 Essentials rate-limits these groups separately (app/guards/budget.py).
BudgetGroup = Literal["users-read", "users-write", "other"]


@dataclass(frozen=True)
class Operation:
    """One exposed Management API operation."""

    operation_id: str  # Auth0's operationId
    method: str
    path: str  # Auth0's path template under /api/v2, e.g. "/users/{id}"
    permission: str  # gateway permission always needed
    summary: str
    # Body fields that need a permission of their own (field-level authorization).
    field_permissions: Mapping[str, str] = field(default_factory=dict)
    # Body fields never accepted through this operation, with the reason.
    forbidden_fields: Mapping[str, str] = field(default_factory=dict)
    # A scope Auth0 accepts only when the body touches nothing but these fields.
    scope_field_limits: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Where the target user's id is: a path parameter or a body field.
    target_user: str | None = None
    # True: a body's fields decide alone (PATCH {"blocked": true} needs users:block and
    # nothing else). False: the base permission is always needed, fields add to it.
    permission_by_field: bool = False
    # Delegated scope, escalation protection and the fleet budget, per operation.
    scope_check: ScopeCheck = "none"
    # Refused on the caller's own account (escalation protection): what it would do;
    # `self_action_fields`: the same for a write only when it touches these fields.
    self_action: str | None = None
    self_action_fields: Mapping[str, str] = field(default_factory=dict)
    assigns_roles: bool = False  # the body's `roles` must be assignable by the caller
    budget_group: BudgetGroup = "other"
    # Gateway validation beyond Auth0's schema (app/schemas/requests.py names each rule).
    query_rules: tuple[str, ...] = ()
    body_rules: tuple[str, ...] = ()
    # Auth0 query parameters the gateway does not pass on (the reason is in the rule).
    excluded_query: frozenset[str] = frozenset()

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def gateway_path(self) -> str:
        return API_PREFIX + self.path

    @property
    def flask_rule(self) -> str:
        return self.gateway_path.replace("{", "<").replace("}", ">")

    @property
    def spec_scopes(self) -> frozenset[str]:
        """Scopes Auth0's spec accepts for this operation (any one suffices)."""
        return frozenset(_spec_operation(self.method, self.path)["scopes"])

    def accepted_scopes(self, body_fields: Iterable[str] = ()) -> frozenset[str]:
        """Scopes a client-credentials tier may use for this call (any one suffices)."""
        fields = set(body_fields)
        scopes: set[str] = set(self.spec_scopes - CURRENT_USER_SCOPES - NEVER_CHOSEN_SCOPES)
        for scope, allowed_fields in self.scope_field_limits.items():
            if not fields or not fields <= allowed_fields:
                scopes.discard(scope)
        return frozenset(scopes)

    def required_permissions(self, body_fields: Iterable[str] = ()) -> frozenset[str]:
        fields = list(body_fields)
        if self.permission_by_field and fields:
            # A field without a rule of its own needs the base permission.
            return frozenset(self.field_permissions.get(name, self.permission)
                             for name in fields)
        needed = {self.permission}
        needed.update(self.field_permissions[name] for name in fields
                      if name in self.field_permissions)
        return frozenset(needed)

    def self_action_for(self, body_fields: Iterable[str] = ()) -> str | None:
        """What this call would do to the caller's own account, if it is a self-action."""
        if self.self_action is not None:
            return self.self_action
        return next((self.self_action_fields[name] for name in body_fields
                     if name in self.self_action_fields), None)

    @property
    def entry_permissions(self) -> frozenset[str]:
        """Holding any of these allows some use of the operation (for /gateway/me)."""
        if self.permission_by_field:
            return frozenset({self.permission, *self.field_permissions.values()})
        return frozenset({self.permission})


@cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_FILE.read_text())
    return data


def _spec_operation(method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = _spec()["paths"][path][method.lower()]
    security = operation.get("security", [])
    scopes: list[str] = next((s["oAuth2ClientCredentials"] for s in security
                   if "oAuth2ClientCredentials" in s), [])
    return {"operationId": operation["operationId"], "scopes": scopes}


def spec_document() -> dict[str, Any]:
    """The Auth0 OpenAPI subset behind the catalog (paths and components)."""
    return _spec()


_BY_USER_ID = ("The gateway identifies the target user by user_id only, so that delegated "
               "scope rules apply.")
_PROFILE_FIELDS = ("email", "email_verified", "phone_number", "phone_verified", "given_name",
                   "family_name", "name", "nickname", "picture", "username", "verify_email",
                   "verify_phone_number", "connection", "client_id")

CATALOG: tuple[Operation, ...] = (
    Operation("get_users", "GET", "/users", "users:read", "List or search users",
              scope_check="query", budget_group="users-read",
              query_rules=("sort:users", "fields", "paging", "search-engine"),
              # primary_order only affected the retired v2 search engine.
              excluded_query=frozenset({"primary_order"})),
    Operation("get_users-by-email", "GET", "/users-by-email", "users:read",
              "Find users by email", scope_check="results", budget_group="users-read",
              query_rules=("fields", "email")),
    Operation("get_users_by_id", "GET", "/users/{id}", "users:read", "Get a user",
              target_user="id", scope_check="target-answer", budget_group="users-read",
              query_rules=("fields",)),
    Operation("post_users", "POST", "/users", "users:create", "Create a user",
              field_permissions={"app_metadata": "users:update_app_metadata",
                                 "blocked": "users:block"},
              scope_check="new-user", budget_group="users-write", body_rules=("metadata",)),
    Operation(
        "patch_users_by_id", "PATCH", "/users/{id}", "users:update", "Update a user",
        field_permissions={
            **{name: "users:update" for name in _PROFILE_FIELDS},
            "blocked": "users:block",
            "user_metadata": "users:update_metadata",
            "app_metadata": "users:update_app_metadata",
        },
        forbidden_fields={"password": "Passwords are changed through POST "
                                      "/api/v2/tickets/password-change, never set by an admin."},
        # Auth0: update:users_app_metadata may change app_metadata and nothing else.
        scope_field_limits={"update:users_app_metadata": frozenset({"app_metadata"})},
        target_user="id",
        permission_by_field=True,
        scope_check="target",
        self_action_fields={"blocked": "block or unblock your own account"},
        budget_group="users-write",
        body_rules=("metadata",),
    ),
    Operation("delete_users_by_id", "DELETE", "/users/{id}", "users:delete", "Delete a user",
              target_user="id", scope_check="target", self_action="delete your own account",
              budget_group="users-write"),
    Operation("get_user_roles", "GET", "/users/{id}/roles", "users:roles:read",
              "List a user's roles", target_user="id", scope_check="target"),
    Operation("post_user_roles", "POST", "/users/{id}/roles", "users:roles:assign",
              "Assign roles to a user", target_user="id", scope_check="target",
              self_action="change your own roles", assigns_roles=True,
              body_rules=("role-ids",)),
    Operation("delete_user_roles", "DELETE", "/users/{id}/roles", "users:roles:assign",
              "Remove roles from a user", target_user="id", scope_check="target",
              self_action="remove your own roles", assigns_roles=True,
              body_rules=("role-ids",)),
    Operation("get_permissions", "GET", "/users/{id}/permissions", "users:roles:read",
              "List a user's permissions", target_user="id", scope_check="target"),
    Operation("get_logs_by_user", "GET", "/users/{id}/logs", "users:logs:read",
              "List a user's log events", target_user="id", scope_check="target",
              query_rules=("sort:logs",)),
    Operation("get_user-blocks_by_id", "GET", "/user-blocks/{id}", "users:read",
              "Get a user's brute-force blocks", target_user="id", scope_check="target"),
    Operation("delete_user-blocks_by_id", "DELETE", "/user-blocks/{id}", "users:block",
              "Clear a user's brute-force blocks", target_user="id", scope_check="target"),
    Operation("post_password-change", "POST", "/tickets/password-change", "users:password_reset",
              "Create a password-change ticket", target_user="user_id", scope_check="target",
              forbidden_fields={name: _BY_USER_ID for name in ("email", "connection_id",
                                                                "identity")},
              body_rules=("user-id-required",)),
    Operation("post_verification-email", "POST", "/jobs/verification-email", "users:update",
              "Send a verification email", target_user="user_id", scope_check="target"),
    Operation("delete_authenticators", "DELETE", "/users/{id}/authenticators", "users:mfa_reset",
              "Remove a user's MFA authenticators", target_user="id", scope_check="target",
              self_action="reset your own MFA"),
    Operation("get_roles", "GET", "/roles", "roles:read", "List roles"),
)

# The one index over the catalog: by operation id and by Flask route.
BY_ID: Mapping[str, Operation] = {op.operation_id: op for op in CATALOG}
BY_ROUTE: Mapping[tuple[str, str], Operation] = {(op.flask_rule, op.method): op
                                                 for op in CATALOG}

# Reads the guardrails make themselves (scope checks, escalation protection).
READ_USER = BY_ID["get_users_by_id"]
READ_USER_ROLES = BY_ID["get_user_roles"]
LIST_ROLES = BY_ID["get_roles"]
