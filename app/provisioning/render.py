"""`admin-gateway tenant plan` output: a readable table, JSON, or Terraform for auth0/auth0.

The Terraform targets the `auth0/auth0` provider 1.x (`TERRAFORM_PROVIDER`) and
uses only these resources: auth0_resource_server, auth0_resource_server_scopes,
auth0_role, auth0_role_permissions, auth0_client, auth0_client_credentials,
auth0_client_grant, auth0_action and auth0_trigger_action (which appends the
Action to the post-login flow and leaves other bindings alone, unlike
auth0_trigger_actions). Secrets never appear: Terraform keeps them in its state.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .plan import BOOTSTRAP_SCOPES, TenantPlan

TERRAFORM_PROVIDER = {"source": "auth0/auth0", "version": "~> 1.0"}


def render_json(plan: TenantPlan) -> str:
    return json.dumps(plan.as_json(), indent=2) + "\n"


def render_table(plan: TenantPlan) -> str:
    lines = [f"Tenant {plan.domain}: what `admin-gateway tenant apply` creates or updates",
             "",
             f"API (resource server) {plan.api.identifier!r} \"{plan.api.name}\": RBAC on, "
             "permissions in the access token (token_dialect access_token_authz), "
             f"{len(plan.api.scopes)} permissions:",
             "  " + " ".join(v for v, _ in plan.api.scopes), "", "Roles:"]
    for role in plan.roles:
        lines.append(f"  {role.name}: {' '.join(role.permissions)}")
    lines += ["", f"Credential tiers: {len(plan.tiers.tiers)} M2M applications, each holding "
              "only scopes its operations accept (one each, or all an operation needs "
              "together; the fewest with zero extra scopes for every operation):"]
    for client in plan.tier_clients:
        lines.append(f"  {client.key:<28} {client.name!r} grant: {' '.join(client.grant_scopes)}")
    lines += ["", "Operation -> tier (Auth0 ignores `scope` in client credentials: each token "
              "carries its whole grant; 'could also call' is what that grant allows besides "
              "this operation, from Auth0's API document):"]
    width = max(len(a.need.label) for a in plan.tiers.assignments)
    tier_width = max(len(t.name) for t in plan.tiers.tiers)
    lines.append(f"  {'operation':<{width}}  {'tier':<{tier_width}}  extra  could also call")
    for a in plan.tiers.assignments:
        extra = len(a.tier.scopes - a.need.accepted)
        also = f"{len(a.beyond)} other operation(s)" if a.beyond else "-"
        if a.beyond and len(a.beyond) <= 3:
            also += ": " + ", ".join(a.beyond)
        lines.append(f"  {a.need.label:<{width}}  {a.tier.name:<{tier_width}}  {extra:<5}  "
                     f"{also}")
    check = plan.client("check")
    panel = plan.client("panel")
    lines += ["", f"Drift check: {check.name!r} (M2M, read-only: {' '.join(check.grant_scopes)})",
              f"Admin panel: {panel.name!r} (SPA) callbacks/logout/web origins: "
              + (", ".join(panel.callbacks) or "(none: set PANEL_ORIGINS or CORS_ORIGINS)"),
              f"Post-login Action {plan.action.name!r} ({plan.action.runtime}), bound to the "
              "login flow, sets: " + ", ".join(plan.claims.values()),
              "", "Bootstrap credential for `tenant apply` needs: " + " ".join(BOOTSTRAP_SCOPES)]
    return "\n".join(lines) + "\n"


# --- Terraform ---------------------------------------------------------------------


def _string(value: str) -> str:
    """An HCL string literal (JSON escapes, and no template interpolation)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if value.startswith("\x00ref:"):
            return value[5:]
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    raise TypeError(type(value).__name__)


def _ref(expression: str) -> str:
    return "\x00ref:" + expression


def _resource(kind: str, name: str, attributes: dict[str, Any],
              blocks: list[tuple[str, dict[str, Any]]] | None = None) -> list[str]:
    lines = [f'resource "{kind}" "{name}" {{']
    for key, value in attributes.items():
        if key == "code":
            body = value.replace("${", "$${").replace("%{", "%%{")
            lines.append(f"  {key} = <<-EOT")
            lines.extend(("    " + line) if line else "" for line in body.splitlines())
            lines.append("  EOT")
        else:
            lines.append(f"  {key} = {_value(value)}")
    for block, values in blocks or []:
        lines.append(f"  {block} {{")
        lines.extend(f"    {k} = {_value(v)}" for k, v in values.items())
        lines.append("  }")
    lines += ["}", ""]
    return lines


def _ident(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return name if name and not name[0].isdigit() else f"r_{name}"


def render_terraform(plan: TenantPlan) -> str:
    out = ["# Generated by `admin-gateway tenant plan --format terraform`: the tenant objects",
           "# the admin gateway needs, for the auth0/auth0 provider 1.x. Regenerate after a",
           "# change of catalog, policy or settings. Secrets stay in Terraform's state.",
           "terraform {", "  required_providers {", "    auth0 = {",
           f"      source  = {_string(TERRAFORM_PROVIDER['source'])}",
           f"      version = {_string(TERRAFORM_PROVIDER['version'])}",
           "    }", "  }", "}", ""]
    out += _resource("auth0_resource_server", "gateway_api", {
        "name": plan.api.name, "identifier": plan.api.identifier,
        "signing_alg": plan.api.signing_alg, "enforce_policies": plan.api.enforce_policies,
        "token_dialect": plan.api.token_dialect,
        "skip_consent_for_verifiable_first_party_clients": True})
    out += _resource("auth0_resource_server_scopes", "gateway_api", {
        "resource_server_identifier": _ref("auth0_resource_server.gateway_api.identifier")},
        [("scopes", {"name": v, "description": d}) for v, d in plan.api.scopes])
    for role in plan.roles:
        ident = _ident(role.name)
        out += _resource("auth0_role", ident, {"name": role.name,
                                               "description": role.description})
        out += _resource("auth0_role_permissions", ident,
                         {"role_id": _ref(f"auth0_role.{ident}.id")},
                         [("permissions", {
                             "name": p,
                             "resource_server_identifier": _ref(
                                 "auth0_resource_server.gateway_api.identifier")})
                          for p in role.permissions])
    for client in plan.clients:
        ident = _ident(client.key)
        settable = client.settable()
        method = settable.pop("token_endpoint_auth_method")
        out += _resource("auth0_client", ident, {
            "name": client.name, "app_type": client.app_type, "oidc_conformant": True,
            "is_first_party": True, **settable, "client_metadata": client.metadata})
        out += _resource("auth0_client_credentials", ident, {
            "client_id": _ref(f"auth0_client.{ident}.id"), "authentication_method": method})
        if client.grant_scopes:
            out += _resource("auth0_client_grant", ident, {
                "client_id": _ref(f"auth0_client.{ident}.id"),
                "audience": plan.management_audience, "scopes": list(client.grant_scopes)})
    out += _resource("auth0_action", "claims", {
        "name": plan.action.name, "runtime": plan.action.runtime, "deploy": True,
        "code": plan.action.code},
        [("supported_triggers", {"id": plan.action.trigger,
                                 "version": plan.action.trigger_version})])
    out += _resource("auth0_trigger_action", "claims", {
        "trigger": plan.action.trigger, "action_id": _ref("auth0_action.claims.id")})
    return "\n".join(out)


FORMATS = {"table": render_table, "json": render_json, "terraform": render_terraform}
