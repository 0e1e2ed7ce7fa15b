"""Everything a tenant needs for the gateway, computed from the catalog, the policy and settings.

`build_plan(settings, policy)` is read-only and deterministic: `admin-gateway
tenant plan` prints it (table, JSON, Terraform), `tenant apply` makes the
tenant match it, `tenant check` compares the live tenant with it
(docs/provisioning.md).

What gets created, each object tagged as the gateway's (`TAG`):
- the gateway's API (resource server `AUTH0_AUDIENCE`), RBAC on, permissions in
  the access token, every gateway permission as an API permission;
- one role per policy role, with its permissions;
- one M2M application per credential tier of the least-privilege plan
  (app/provisioning/planner.py), each with a client grant on the Management API;
- a read-only M2M application for `tenant check` (drift detection in CI/cron);
- the admin panel's SPA application (PANEL_ORIGINS);
- a post-login Action adding the namespaced claims, bound to the login flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.auth.policy import Policy
from app.catalog import PERMISSIONS
from app.management.plans import offered_operations
from config.settings import Settings

from .action import ACTION_NAME, ACTION_RUNTIME, POST_LOGIN, action_code
from .planner import LeastPrivilegePlan, plan_least_privilege

# Every object the gateway creates carries this tag: clients in client_metadata, roles in
# their description, the Action in its code. Apply changes only tagged objects.
TAG = "admin-gateway"
TAG_KEY = "managed_by"
TIER_KEY = "admin_gateway_tier"
API_NAME = "Admin Gateway API"
SPA_NAME = "Admin Gateway Panel"
CHECK_NAME = "Admin Gateway (tenant check)"
ROLE_SUFFIX = f" (managed by {TAG})"
# What `tenant check` reads: nothing it could change anything with.
CHECK_SCOPES = ("read:actions", "read:client_grants", "read:clients", "read:resource_servers",
                "read:roles")
# What `tenant apply` needs from its one-time bootstrap credential.
BOOTSTRAP_SCOPES = (
    "read:resource_servers", "create:resource_servers", "update:resource_servers",
    "read:clients", "read:client_keys", "create:clients", "update:clients",
    "read:client_grants", "create:client_grants", "update:client_grants",
    "read:roles", "create:roles", "update:roles",
    "read:actions", "create:actions", "update:actions",
)


@dataclass(frozen=True)
class ApiPlan:
    identifier: str
    name: str
    scopes: tuple[tuple[str, str], ...]  # (value, description)
    signing_alg: str = "RS256"
    enforce_policies: bool = True
    token_dialect: str = "access_token_authz"  # `permissions` in access tokens


@dataclass(frozen=True)
class RolePlan:
    name: str
    permissions: tuple[str, ...]

    @property
    def description(self) -> str:
        return f"admin-gateway policy role{ROLE_SUFFIX}"


@dataclass(frozen=True)
class ClientPlan:
    """An application: an M2M one with a Management API grant, or the panel's SPA."""

    key: str  # tier name, "check" or "panel"
    name: str
    app_type: str
    grant_scopes: tuple[str, ...] = ()  # on the Management API; empty: no grant
    callbacks: tuple[str, ...] = ()
    allowed_logout_urls: tuple[str, ...] = ()
    web_origins: tuple[str, ...] = ()

    @property
    def is_spa(self) -> bool:
        return self.app_type == "spa"

    @property
    def metadata(self) -> dict[str, str]:
        return {TAG_KEY: TAG, TIER_KEY: self.key}

    def create_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "app_type": self.app_type,
                                "client_metadata": self.metadata, "oidc_conformant": True,
                                "is_first_party": True}
        body.update(self.settable())
        return body

    def settable(self) -> dict[str, Any]:
        """The fields apply keeps equal to the plan (PATCH on drift)."""
        if self.is_spa:
            return {"callbacks": list(self.callbacks),
                    "allowed_logout_urls": list(self.allowed_logout_urls),
                    "web_origins": list(self.web_origins),
                    "grant_types": ["authorization_code", "refresh_token"],
                    "token_endpoint_auth_method": "none"}
        return {"grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_post"}


@dataclass(frozen=True)
class ActionPlan:
    name: str
    code: str
    trigger: str = POST_LOGIN
    trigger_version: str = "v3"
    runtime: str = ACTION_RUNTIME


@dataclass(frozen=True)
class TenantPlan:
    domain: str
    management_audience: str
    api: ApiPlan
    roles: tuple[RolePlan, ...]
    tiers: LeastPrivilegePlan
    clients: tuple[ClientPlan, ...]  # tiers in plan order, then check, then panel
    action: ActionPlan
    claims: Mapping[str, str] = field(default_factory=dict)

    @property
    def tier_clients(self) -> tuple[ClientPlan, ...]:
        names = {t.name for t in self.tiers.tiers}
        return tuple(c for c in self.clients if c.key in names)

    def client(self, key: str) -> ClientPlan:
        return next(c for c in self.clients if c.key == key)

    def as_json(self) -> dict[str, Any]:
        """The plan as data (`tenant plan --format json`)."""
        return {
            "tenant": {"domain": self.domain, "management_audience": self.management_audience},
            "resource_server": {
                "identifier": self.api.identifier, "name": self.api.name,
                "signing_alg": self.api.signing_alg,
                "enforce_policies": self.api.enforce_policies,
                "token_dialect": self.api.token_dialect,
                "scopes": [{"value": v, "description": d} for v, d in self.api.scopes]},
            "roles": [{"name": r.name, "description": r.description,
                       "permissions": list(r.permissions)} for r in self.roles],
            "clients": [{"key": c.key, "name": c.name, "app_type": c.app_type,
                         "client_metadata": c.metadata, **c.settable(),
                         "client_grant": ({"audience": self.management_audience,
                                           "scope": list(c.grant_scopes)}
                                          if c.grant_scopes else None)}
                        for c in self.clients],
            "tiers": {
                "order": [t.name for t in self.tiers.tiers],
                "operations": [{"operation": a.need.label, "tier": a.tier.name,
                                "scopes": sorted(a.tier.scopes),
                                "accepted": sorted(a.need.accepted),
                                "extra_scopes": sorted(a.tier.scopes - a.need.accepted),
                                "could_also_call": list(a.beyond)}
                               for a in self.tiers.assignments]},
            "action": {"name": self.action.name, "runtime": self.action.runtime,
                       "trigger": {"id": self.action.trigger,
                                   "version": self.action.trigger_version},
                       "claims": dict(self.claims), "code": self.action.code},
            "bootstrap_scopes": list(BOOTSTRAP_SCOPES),
        }


def build_plan(settings: Settings, policy: Policy) -> TenantPlan:
    api = ApiPlan(identifier=settings.auth0_audience, name=API_NAME,
                  scopes=tuple((name, PERMISSIONS[name][:500]) for name in PERMISSIONS))
    roles = tuple(RolePlan(name, tuple(sorted(role.permissions)))
                  for name, role in sorted(policy.roles.items()))
    # Only what the tenant's plan offers (MGMT_PLAN): a free tenant gets no application
    # for the Enterprise-only session and refresh-token operations.
    tiers = plan_least_privilege(offered_operations(settings))
    clients = [ClientPlan(t.name, f"Admin Gateway tier {t.name}", "non_interactive",
                          tuple(sorted(t.scopes))) for t in tiers.tiers]
    clients.append(ClientPlan("check", CHECK_NAME, "non_interactive", CHECK_SCOPES))
    origins = tuple(settings.panel_origins)
    clients.append(ClientPlan("panel", SPA_NAME, "spa", (), callbacks=origins,
                              allowed_logout_urls=origins, web_origins=origins))
    # The claim names the gateway reads (settings), so the Action and the step-up check
    # (app/guards/stepup.py) always agree.
    claims = {"roles": settings.roles_claim, "department": settings.department_claim,
              "auth_time": settings.auth_time_claim, "acr": settings.acr_claim,
              "amr": settings.amr_claim}
    action = ActionPlan(ACTION_NAME, action_code(claims))
    return TenantPlan(domain=settings.auth0_domain,
                      management_audience=settings.management_audience, api=api, roles=roles,
                      tiers=tiers, clients=tuple(clients), action=action, claims=claims)
