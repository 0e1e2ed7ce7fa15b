"""`tenant apply` makes a tenant match the plan; `tenant check` reports where it does not.

apply reads the live tenant, then creates what is missing and updates what
differs — idempotently: on a tenant that matches, it sends no write at all.
It never deletes an object, and it changes objects it did not create only by
adding to them (a permission on the gateway's API, a role permission, the
Action's binding): applications are matched by their `client_metadata` tag,
roles carry the tag in their description, and only tagged roles lose
permissions the plan does not give them.

check reads the same objects and lists every drift: the API's RBAC or
permission dialect switched off, permissions missing, roles whose permissions
differ, applications or grants missing, grants wider or narrower than the
plan, the SPA's URLs, the Action missing, changed, undeployed or unbound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .plan import ROLE_SUFFIX, TAG, TAG_KEY, TIER_KEY, ClientPlan, TenantPlan
from .tenant_api import TenantApi, segment


@dataclass
class Outcome:
    """What apply did (or, dry, would do) and the settings it produced."""

    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    client_ids: dict[str, str] = field(default_factory=dict)  # plan key -> client id
    secrets: dict[str, str] = field(default_factory=dict)  # plan key -> secret


@dataclass
class Live:
    """The tenant as read: the objects the plan is about."""

    api: dict[str, Any] | None
    roles: dict[str, dict[str, Any]]  # name -> role
    role_permissions: dict[str, set[str]]  # role name -> permission names on our API
    clients: dict[str, dict[str, Any]]  # plan key -> client (tagged only)
    grants: dict[str, dict[str, Any]]  # client id -> Management API grant
    action: dict[str, Any] | None
    bindings: list[dict[str, Any]]


def read_live(api: TenantApi, plan: TenantPlan) -> Live:
    servers = api.get_all("/resource-servers", "resource_servers")
    server = next((s for s in servers if s.get("identifier") == plan.api.identifier), None)
    roles = {r["name"]: r for r in api.get_all("/roles", "roles")
             if any(r["name"] == p.name for p in plan.roles)}
    permissions: dict[str, set[str]] = {}
    for name, role in roles.items():
        rows = api.get_all(f"/roles/{segment(role['id'])}/permissions", "permissions")
        permissions[name] = {r["permission_name"] for r in rows
                             if r.get("resource_server_identifier") == plan.api.identifier}
    clients: dict[str, dict[str, Any]] = {}
    for client in api.get_all("/clients", "clients"):
        metadata = client.get("client_metadata") or {}
        if metadata.get(TAG_KEY) == TAG and metadata.get(TIER_KEY):
            clients.setdefault(str(metadata[TIER_KEY]), client)
    grants = {g["client_id"]: g for g in api.get_all(
        "/client-grants", "client_grants", {"audience": plan.management_audience})}
    found = api.get("/actions/actions", {"actionName": plan.action.name})
    actions = found.get("actions", []) if isinstance(found, dict) else []
    action = next((a for a in actions if a.get("name") == plan.action.name), None)
    if action is not None:
        action = api.get(f"/actions/actions/{segment(action['id'])}")
    bindings = api.get(f"/actions/triggers/{segment(plan.action.trigger)}/bindings")
    return Live(server, roles, permissions, clients, grants, action,
                list(bindings.get("bindings", [])) if isinstance(bindings, dict) else [])


# --- apply -------------------------------------------------------------------------------


def _api_body(plan: TenantPlan, scopes: list[dict[str, str]]) -> dict[str, Any]:
    return {"enforce_policies": plan.api.enforce_policies,
            "token_dialect": plan.api.token_dialect, "scopes": scopes}


def _apply_api(api: TenantApi, plan: TenantPlan, live: Live, out: Outcome) -> None:
    planned = [{"value": v, "description": d} for v, d in plan.api.scopes]
    if live.api is None:
        api.write("POST", "/resource-servers", {
            "identifier": plan.api.identifier, "name": plan.api.name,
            "signing_alg": plan.api.signing_alg,
            "skip_consent_for_verifiable_first_party_clients": True,
            **_api_body(plan, planned)})
        out.changes.append(f"created the API {plan.api.identifier}")
        return
    existing = list(live.api.get("scopes") or [])
    have = {s.get("value") for s in existing}
    missing = [s for s in planned if s["value"] not in have]
    if (missing or live.api.get("enforce_policies") is not True
            or live.api.get("token_dialect") != plan.api.token_dialect):
        # Only ever adds permissions: those it did not define stay.
        api.write("PATCH", f"/resource-servers/{segment(live.api['id'])}",
                  _api_body(plan, existing + missing))
        out.changes.append(f"updated the API {plan.api.identifier} (RBAC, dialect, "
                           f"{len(missing)} permission(s) added)")


def _apply_roles(api: TenantApi, plan: TenantPlan, live: Live, out: Outcome) -> None:
    for role in plan.roles:
        found = live.roles.get(role.name)
        if found is None:
            created = api.write("POST", "/roles", {"name": role.name,
                                                   "description": role.description})
            out.changes.append(f"created the role {role.name!r}")
            if created is None:  # dry run
                continue
            role_id, have, tagged = str(created["id"]), set(), True
        else:
            role_id = str(found["id"])
            have = live.role_permissions.get(role.name, set())
            tagged = str(found.get("description", "")).endswith(ROLE_SUFFIX)
        wanted = set(role.permissions)
        add = sorted(wanted - have)
        extra = sorted(have - wanted)
        if add:
            api.write("POST", f"/roles/{segment(role_id)}/permissions", {"permissions": [
                {"resource_server_identifier": plan.api.identifier, "permission_name": p}
                for p in add]})
            out.changes.append(f"role {role.name!r}: added {' '.join(add)}")
        if extra and tagged:
            api.write("DELETE", f"/roles/{segment(role_id)}/permissions", {"permissions": [
                {"resource_server_identifier": plan.api.identifier, "permission_name": p}
                for p in extra]})
            out.changes.append(f"role {role.name!r}: removed {' '.join(extra)}")
        elif extra:
            out.notes.append(f"role {role.name!r} was not created by admin-gateway: its extra "
                             f"permissions {' '.join(extra)} are left alone")


def _differs(client: ClientPlan, live: dict[str, Any]) -> dict[str, Any]:
    wanted = {"name": client.name, **client.settable()}
    return {k: v for k, v in wanted.items() if live.get(k) != v}


def _apply_clients(api: TenantApi, plan: TenantPlan, live: Live, out: Outcome) -> None:
    for client in plan.clients:
        found = live.clients.get(client.key)
        if found is None:
            created = api.write("POST", "/clients", client.create_body())
            out.changes.append(f"created the application {client.name!r}")
            if created is None:
                continue
            found = created
            live.clients[client.key] = created
        else:
            patch = _differs(client, found)
            if patch:
                api.write("PATCH", f"/clients/{segment(found['client_id'])}", patch)
                out.changes.append(f"updated the application {client.name!r}: "
                                   f"{', '.join(sorted(patch))}")
        out.client_ids[client.key] = str(found["client_id"])
        if found.get("client_secret"):
            out.secrets[client.key] = str(found["client_secret"])
        if not client.grant_scopes:
            continue
        grant = live.grants.get(str(found["client_id"]))
        if grant is None:
            api.write("POST", "/client-grants", {
                "client_id": found["client_id"], "audience": plan.management_audience,
                "scope": list(client.grant_scopes)})
            out.changes.append(f"granted {client.name!r}: {' '.join(client.grant_scopes)}")
        elif set(grant.get("scope") or []) != set(client.grant_scopes):
            api.write("PATCH", f"/client-grants/{segment(grant['id'])}",
                      {"scope": list(client.grant_scopes)})
            out.changes.append(f"set the grant of {client.name!r} to "
                               f"{' '.join(client.grant_scopes)}")


def _apply_action(api: TenantApi, plan: TenantPlan, live: Live, out: Outcome) -> None:
    action = live.action
    wanted = plan.action
    if action is None:
        created = api.write("POST", "/actions/actions", {
            "name": wanted.name, "code": wanted.code, "runtime": wanted.runtime,
            "supported_triggers": [{"id": wanted.trigger, "version": wanted.trigger_version}]})
        out.changes.append(f"created the Action {wanted.name!r}")
        if created is None:
            out.changes.append(f"deployed the Action and bound it to {wanted.trigger}")
            return
        action = created
        api.write("POST", f"/actions/actions/{segment(action['id'])}/deploy")
        out.changes.append(f"deployed the Action {wanted.name!r}")
    else:
        if action.get("code") != wanted.code or action.get("runtime") != wanted.runtime:
            api.write("PATCH", f"/actions/actions/{segment(action['id'])}",
                      {"code": wanted.code, "runtime": wanted.runtime})
            out.changes.append(f"updated the Action {wanted.name!r}")
            action = {**action, "all_changes_deployed": False}
        if not action.get("all_changes_deployed"):
            api.write("POST", f"/actions/actions/{segment(action['id'])}/deploy")
            out.changes.append(f"deployed the Action {wanted.name!r}")
    if any((b.get("action") or {}).get("id") == action["id"] for b in live.bindings):
        return
    # PATCH replaces the trigger's bindings: keep every other one, in its order.
    refs = [{"ref": {"type": "binding_id", "value": b["id"]},
             "display_name": b.get("display_name", "")} for b in live.bindings]
    refs.append({"ref": {"type": "action_id", "value": action["id"]},
                 "display_name": wanted.name})
    api.write("PATCH", f"/actions/triggers/{segment(wanted.trigger)}/bindings",
              {"bindings": refs})
    out.changes.append(f"bound the Action {wanted.name!r} to {wanted.trigger}")


def apply(api: TenantApi, plan: TenantPlan) -> Outcome:
    out = Outcome()
    live = read_live(api, plan)
    _apply_api(api, plan, live, out)
    _apply_roles(api, plan, live, out)
    _apply_clients(api, plan, live, out)
    _apply_action(api, plan, live, out)
    return out


# --- check -------------------------------------------------------------------------------


def check(api: TenantApi, plan: TenantPlan) -> list[str]:
    """Every way the live tenant differs from the plan (empty: no drift)."""
    live = read_live(api, plan)
    drift: list[str] = []
    add: Callable[[str], None] = drift.append
    if live.api is None:
        add(f"the API {plan.api.identifier} is missing")
    else:
        if live.api.get("enforce_policies") is not True:
            add(f"the API {plan.api.identifier}: RBAC is off (enforce_policies)")
        if live.api.get("token_dialect") != plan.api.token_dialect:
            add(f"the API {plan.api.identifier}: permissions are not added to access tokens "
                f"(token_dialect {live.api.get('token_dialect')!r}, want "
                f"{plan.api.token_dialect!r})")
        have = {s.get("value") for s in live.api.get("scopes") or []}
        missing = [v for v, _ in plan.api.scopes if v not in have]
        if missing:
            add(f"the API {plan.api.identifier} lacks permissions {' '.join(missing)}")
    for role in plan.roles:
        if role.name not in live.roles:
            add(f"role {role.name!r} is missing")
            continue
        have = live.role_permissions.get(role.name, set())
        lacking = sorted(set(role.permissions) - have)
        extra = sorted(have - set(role.permissions))
        if lacking or extra:
            add(f"role {role.name!r} permissions differ: missing {' '.join(lacking) or '-'}, "
                f"extra {' '.join(extra) or '-'}")
    for client in plan.clients:
        found = live.clients.get(client.key)
        if found is None:
            add(f"application {client.name!r} is missing")
            continue
        patch = _differs(client, found)
        if patch:
            add(f"application {client.name!r} differs: {', '.join(sorted(patch))}")
        if not client.grant_scopes:
            continue
        grant = live.grants.get(str(found["client_id"]))
        if grant is None:
            add(f"application {client.name!r} has no Management API grant")
            continue
        granted = set(grant.get("scope") or [])
        wider = sorted(granted - set(client.grant_scopes))
        narrower = sorted(set(client.grant_scopes) - granted)
        if wider:
            add(f"grant of {client.name!r} (tier {client.key}) is wider than the plan: "
                f"{' '.join(wider)}")
        if narrower:
            add(f"grant of {client.name!r} (tier {client.key}) is narrower than the plan: "
                f"lacks {' '.join(narrower)}")
    action = live.action
    if action is None:
        add(f"the Action {plan.action.name!r} is missing")
    else:
        if action.get("code") != plan.action.code:
            add(f"the Action {plan.action.name!r} code differs from the plan")
        if not action.get("all_changes_deployed"):
            add(f"the Action {plan.action.name!r} has undeployed changes")
        if not any((b.get("action") or {}).get("id") == action.get("id")
                   for b in live.bindings):
            add(f"the Action {plan.action.name!r} is not bound to {plan.action.trigger}")
    return drift


# --- settings ------------------------------------------------------------------------------


def settings_lines(plan: TenantPlan, out: Outcome, *, secrets: bool) -> list[str]:
    """The gateway's settings for the applied tenant (.env format)."""
    def secret(key: str) -> str:
        if key not in out.secrets:
            return "<unknown: give the credential read:client_keys>"
        return out.secrets[key] if secrets else "<hidden: --output FILE or --show-secrets>"

    tiers = [t.name for t in plan.tiers.tiers]
    lines = ["# admin-gateway settings written by `admin-gateway tenant apply`",
             f"AUTH0_DOMAIN={plan.domain}", f"AUTH0_AUDIENCE={plan.api.identifier}",
             f"ROLES_CLAIM={plan.claims['roles']}",
             f"DEPARTMENT_CLAIM={plan.claims['department']}",
             f"MGMT_TIERS={','.join(tiers)}"]
    for tier in plan.tiers.tiers:
        prefix = f"MGMT_TIER_{tier.name.upper()}_"
        lines += [f"{prefix}CLIENT_ID={out.client_ids.get(tier.name, '<dry run>')}",
                  f"{prefix}CLIENT_SECRET={secret(tier.name)}",
                  f"{prefix}SCOPES={' '.join(sorted(tier.scopes))}"]
    lines += ["# `admin-gateway tenant check` (read-only; CI, cron)",
              f"TENANT_CHECK_CLIENT_ID={out.client_ids.get('check', '<dry run>')}",
              f"TENANT_CHECK_CLIENT_SECRET={secret('check')}",
              "# the admin panel's config.json: clientId",
              f"# PANEL_CLIENT_ID={out.client_ids.get('panel', '<dry run>')}"]
    return lines
