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
CURRENT_USER_IDENTITY_SCOPES = frozenset({"update:current_user_identities"})
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
    "users:mfa_reset": "Remove all of a user's MFA authenticators and authentication methods.",
    "users:mfa:read": "List a user's MFA enrollments and authentication methods.",
    "users:mfa:delete_method": "Delete one of a user's authentication methods (a lost phone) "
                               "without touching the others.",
    "users:mfa:invalidate_browser": "Make MFA ask again on browsers a user chose to remember.",
    "users:mfa:recovery_code": "Regenerate a user's MFA recovery code (the answer holds the "
                               "new code, to hand to the user).",
    "users:permissions:assign": "Assign direct permissions to and remove them from a user "
                                "(`assignable_permissions` in the policy).",
    "users:sessions:read": "List a user's sessions and refresh tokens.",
    "users:sessions:revoke": "Revoke a user's sessions and refresh tokens (one, or all).",
    "users:lock_out": "Lock a user out now: block the account and revoke every session and "
                      "refresh token in one call (`POST /gateway/users/{id}/lock-out`).",
    "users:identities:unlink": "Unlink an identity (a linked secondary account) from a user.",
    "roles:users:read": "List the users holding a role (each filtered by delegated scope).",
    "orgs:read": "Read a user's organizations, and an organization's members, member roles "
                 "and invitations.",
    "orgs:members:manage": "Add users to and remove them from an organization.",
    "orgs:roles:assign": "Assign and remove an organization member's roles "
                         "(`assignable_roles`).",
    "orgs:invitations:manage": "Create and revoke invitations to an organization.",
    "orgs:scope:all": "Act on every organization; without it, only on the organization the "
                      "caller logged in through (the token's `org_id`).",
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
# - "members": a list of users without app_metadata (a role's users, an organization's
#   members); a scoped caller's answer is rebuilt from the in-scope users only;
# - "owner": a session or refresh token, whose owner (`owner_lookup`) is checked;
# - "none": no user is involved (e.g. the tenant's roles).
ScopeCheck = Literal["query", "results", "target", "target-answer", "new-user", "members",
                     "owner", "none"]
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
    # Where the gateway serves it: Auth0's operations under /api/v2; its own actions
    # (GATEWAY_ACTIONS) under /gateway.
    prefix: str = API_PREFIX
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
    # The body's `permissions` must be assignable by the caller (escalation protection).
    assigns_permissions: bool = False
    # A path parameter naming an organization: org-scoped delegation applies.
    org_param: str | None = None
    # "owner": the read whose answer's `user_id` is the user this call acts on.
    owner_lookup: str | None = None
    # Another user the call acts on, checked under delegated scope too: a template over
    # the path parameters (the secondary account an unlink restores).
    secondary_user: str | None = None
    # A body field listing user ids the call acts on, each checked under delegated scope.
    body_users: str | None = None
    # Auth0 offers the operation on Enterprise plans only (MGMT_PLAN; README).
    enterprise_only: bool = False
    # The tier must hold every accepted scope, not one of them (the call does several
    # things, each under its own scope).
    needs_all_scopes: bool = False
    # The call grants power (roles, permissions, membership): never on one's own account,
    # whatever `[protection] self_actions` says.
    grants: bool = False
    # "members": the key of the answer's list when Auth0 wraps it (include_totals).
    list_key: str = "users"
    # The answer lists organizations: an org-scoped caller sees only its own.
    org_answer: bool = False
    # A body field naming by email who receives the grant (an invitation): never the
    # caller's own address.
    grantee_email: str | None = None
    # Body fields naming a resource (field -> the read that finds its owner) that must
    # belong to the target user: a session_id names one of that user's sessions.
    owned_body_fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def gateway_path(self) -> str:
        return self.prefix + self.path

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
        scopes: set[str] = set(self.spec_scopes - CURRENT_USER_SCOPES - NEVER_CHOSEN_SCOPES
                               - CURRENT_USER_IDENTITY_SCOPES)
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
              self_action="change your own roles", assigns_roles=True, grants=True,
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
    # -- Direct permissions (escalation: `assignable_permissions`, never to oneself) --
    Operation("post_permissions", "POST", "/users/{id}/permissions",
              "users:permissions:assign", "Assign permissions to a user", target_user="id",
              scope_check="target", self_action="grant yourself permissions",
              assigns_permissions=True, grants=True),
    Operation("delete_permissions", "DELETE", "/users/{id}/permissions",
              "users:permissions:assign", "Remove permissions from a user", target_user="id",
              scope_check="target", self_action="remove your own permissions",
              assigns_permissions=True),
    # -- Sessions and refresh tokens (Auth0: Enterprise plans only) --
    Operation("get_sessions_for_user", "GET", "/users/{user_id}/sessions",
              "users:sessions:read", "List a user's sessions", target_user="user_id",
              scope_check="target", enterprise_only=True),
    Operation("delete_sessions_for_user", "DELETE", "/users/{user_id}/sessions",
              "users:sessions:revoke", "Revoke all of a user's sessions",
              target_user="user_id", scope_check="target", enterprise_only=True),
    Operation("get_session", "GET", "/sessions/{id}", "users:sessions:read", "Get a session",
              scope_check="owner", owner_lookup="get_session", enterprise_only=True),
    Operation("delete_session", "DELETE", "/sessions/{id}", "users:sessions:revoke",
              "Revoke a session", scope_check="owner", owner_lookup="get_session",
              enterprise_only=True),
    Operation("get_refresh_tokens_for_user", "GET", "/users/{user_id}/refresh-tokens",
              "users:sessions:read", "List a user's refresh tokens", target_user="user_id",
              scope_check="target", enterprise_only=True),
    Operation("delete_refresh_tokens_for_user", "DELETE", "/users/{user_id}/refresh-tokens",
              "users:sessions:revoke", "Revoke all of a user's refresh tokens",
              target_user="user_id", scope_check="target", enterprise_only=True),
    Operation("get_refresh_token", "GET", "/refresh-tokens/{id}", "users:sessions:read",
              "Get a refresh token", scope_check="owner", owner_lookup="get_refresh_token",
              enterprise_only=True),
    Operation("delete_refresh_token", "DELETE", "/refresh-tokens/{id}", "users:sessions:revoke",
              "Revoke a refresh token", scope_check="owner", owner_lookup="get_refresh_token",
              enterprise_only=True),
    Operation("user_revoke_access", "POST", "/users/{id}/revoke-access",
              "users:sessions:revoke", "Revoke a user's sessions and refresh tokens",
              target_user="id", scope_check="target", enterprise_only=True,
              needs_all_scopes=True, owned_body_fields={"session_id": "get_session"}),
    # -- MFA detail: each action its own permission --
    Operation("get_enrollments", "GET", "/users/{id}/enrollments", "users:mfa:read",
              "List a user's Guardian enrollments", target_user="id", scope_check="target"),
    Operation("get_authentication-methods", "GET", "/users/{id}/authentication-methods",
              "users:mfa:read", "List a user's authentication methods", target_user="id",
              scope_check="target"),
    Operation("get_authentication-methods_by_authentication_method_id", "GET",
              "/users/{id}/authentication-methods/{authentication_method_id}",
              "users:mfa:read", "Get one authentication method", target_user="id",
              scope_check="target"),
    Operation("delete_authentication-methods_by_authentication_method_id", "DELETE",
              "/users/{id}/authentication-methods/{authentication_method_id}",
              "users:mfa:delete_method", "Delete one authentication method",
              target_user="id", scope_check="target",
              self_action="delete your own MFA methods"),
    Operation("delete_authentication-methods", "DELETE", "/users/{id}/authentication-methods",
              "users:mfa_reset", "Delete all of a user's authentication methods",
              target_user="id", scope_check="target", self_action="reset your own MFA"),
    Operation("post_invalidate-remember-browser", "POST",
              "/users/{id}/multifactor/actions/invalidate-remember-browser",
              "users:mfa:invalidate_browser", "Invalidate MFA's remembered browsers",
              target_user="id", scope_check="target"),
    Operation("post_recovery-code-regeneration", "POST",
              "/users/{id}/recovery-code-regeneration", "users:mfa:recovery_code",
              "Regenerate a user's MFA recovery code", target_user="id", scope_check="target",
              self_action="regenerate your own recovery code"),
    # -- Linked identities --
    Operation("delete_user_identity_by_user_id", "DELETE",
              "/users/{id}/identities/{provider}/{user_id}", "users:identities:unlink",
              "Unlink an identity from a user", target_user="id", scope_check="target",
              secondary_user="{provider}|{user_id}",
              self_action="unlink your own identities"),
    # -- Users by role: filtered by delegated scope without leaking counts --
    Operation("get_role_user", "GET", "/roles/{id}/users", "roles:users:read",
              "List a role's users", scope_check="members"),
    # -- Organizations: org-scoped delegation (`org_param`) --
    Operation("get_user_organizations", "GET", "/users/{id}/organizations", "orgs:read",
              "List a user's organizations", target_user="id", scope_check="target",
              org_answer=True),
    Operation("get_organization_members", "GET", "/organizations/{id}/members", "orgs:read",
              "List an organization's members", org_param="id", scope_check="members",
              list_key="members", query_rules=("member-fields",)),
    Operation("post_members", "POST", "/organizations/{id}/members", "orgs:members:manage",
              "Add members to an organization", org_param="id", body_users="members",
              self_action="add yourself to an organization", grants=True,
              body_rules=("user-ids",)),
    Operation("delete_members", "DELETE", "/organizations/{id}/members",
              "orgs:members:manage", "Remove members from an organization", org_param="id",
              body_users="members", self_action="remove yourself from an organization",
              body_rules=("user-ids",)),
    Operation("get_organization_member_roles", "GET",
              "/organizations/{id}/members/{user_id}/roles", "orgs:read",
              "List an organization member's roles", org_param="id", target_user="user_id",
              scope_check="target"),
    Operation("post_organization_member_roles", "POST",
              "/organizations/{id}/members/{user_id}/roles", "orgs:roles:assign",
              "Assign roles to an organization member", org_param="id",
              target_user="user_id", scope_check="target", assigns_roles=True, grants=True,
              self_action="change your own organization roles", body_rules=("role-ids",)),
    Operation("delete_organization_member_roles", "DELETE",
              "/organizations/{id}/members/{user_id}/roles", "orgs:roles:assign",
              "Remove roles from an organization member", org_param="id",
              target_user="user_id", scope_check="target", assigns_roles=True,
              self_action="remove your own organization roles", body_rules=("role-ids",)),
    Operation("get_invitations", "GET", "/organizations/{id}/invitations", "orgs:read",
              "List an organization's invitations", org_param="id"),
    Operation("post_invitations", "POST", "/organizations/{id}/invitations",
              "orgs:invitations:manage", "Invite someone to an organization", org_param="id",
              assigns_roles=True, body_rules=("role-ids",), grants=True,
              grantee_email="invitee.email",
              # Auth0 gives the invitation's metadata to the user who accepts it.
              field_permissions={"app_metadata": "users:update_app_metadata"}),
    Operation("delete_invitations_by_invitation_id", "DELETE",
              "/organizations/{id}/invitations/{invitation_id}", "orgs:invitations:manage",
              "Revoke an invitation", org_param="id"),
)



@dataclass(frozen=True)
class ActionStep:
    """One Management call of a gateway action, with the body it always sends."""

    name: str
    operation: Operation
    body: Mapping[str, Any]


# Gateway actions: one request, several Management calls, one audit event. Not Auth0
# operations (no spec entry, no tier of their own: each step runs with its operation's).
LOCK_OUT = Operation("lock_out", "POST", "/users/{id}/lock-out", "users:lock_out",
                     "Lock a user out now: block, then revoke every session and refresh "
                     "token", prefix="/gateway", target_user="id", scope_check="target",
                     self_action="lock yourself out")
GATEWAY_ACTIONS: tuple[Operation, ...] = (LOCK_OUT,)

# The one index over the catalog: by operation id and by Flask route.
BY_ID: Mapping[str, Operation] = {op.operation_id: op for op in CATALOG}
# What a policy section or the audit filter may name: Auth0's operations and the gateway's
# own actions.
NAMED: Mapping[str, Operation] = {op.operation_id: op for op in (*CATALOG, *GATEWAY_ACTIONS)}
BY_ROUTE: Mapping[tuple[str, str], Operation] = {(op.flask_rule, op.method): op
                                                 for op in (*CATALOG, *GATEWAY_ACTIONS)}

# Reads the guardrails make themselves (scope checks, escalation protection).
READ_USER = BY_ID["get_users_by_id"]
SEARCH_USERS = BY_ID["get_users"]
READ_USER_PERMISSIONS = BY_ID["get_permissions"]
LOCK_OUT_STEPS = (ActionStep("block", BY_ID["patch_users_by_id"], {"blocked": True}),
                  ActionStep("revoke_access", BY_ID["user_revoke_access"], {}))
READ_USER_ROLES = BY_ID["get_user_roles"]
LIST_ROLES = BY_ID["get_roles"]
