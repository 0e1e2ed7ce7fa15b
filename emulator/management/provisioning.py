"""Handlers of the provisioning endpoints: resource servers, clients, client grants,
role permissions, Actions and trigger bindings, with Auth0's shapes and errors.

The scopes each accepts come from the spec subset (guard.py checks them before
the handler runs); bodies are validated against the spec's top-level schema.
Client secrets are returned only to tokens holding `read:client_keys`, as
Auth0 does. Actions are "built" at once; binding an Action that was never
deployed is refused, as Auth0 refuses it.
"""

from __future__ import annotations

import copy
import secrets
import string
import uuid
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from emulator.context import tenant
from emulator.errors import ManagementError
from emulator.login import SpaApplication
from emulator.management.guard import caller, query
from emulator.management.present import paged
from emulator.management.user_updates import bad_body, now_iso
from emulator.management.users import validated_body
from emulator.models import Client, Role
from emulator.provisioning_state import ProvisioningState
from emulator.tenant import Tenant

MANAGEMENT_API_ID = "mgmt0000000000000000000001"
_ALNUM = string.ascii_letters + string.digits


def _id(prefix: str, length: int = 16) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _state(t: Tenant) -> ProvisioningState:
    state: ProvisioningState = t.provisioning
    return state


def _not_found(message: str, code: str) -> ManagementError:
    return ManagementError(404, message, code)


def _conflict(message: str, code: str) -> ManagementError:
    return ManagementError(409, message, code)


# --- resource servers ------------------------------------------------------------------


def _management_api(t: Tenant) -> dict[str, Any]:
    return {"id": MANAGEMENT_API_ID, "name": "Auth0 Management API", "is_system": True,
            "identifier": t.management_audience, "scopes": [], "signing_alg": "RS256",
            "allow_offline_access": False, "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "skip_consent_for_verifiable_first_party_clients": False}


def _resource_servers(t: Tenant) -> list[dict[str, Any]]:
    return [_management_api(t), *_state(t).resource_servers.values()]


def _resource_server(t: Tenant, id: str) -> dict[str, Any]:
    for server in _resource_servers(t):
        if id in (server["id"], server["identifier"]):
            return server
    raise _not_found("The resource server does not exist", "inexistent_resource_server")


def resource_server_by_identifier(t: Tenant, identifier: str) -> dict[str, Any] | None:
    """The API whose identifier (audience) this is, the Management API included."""
    return next((s for s in _resource_servers(t) if s["identifier"] == identifier), None)


def get_resource_servers() -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        servers = copy.deepcopy(_resource_servers(t))
    wanted = q.get("identifiers")
    if wanted:
        servers = [s for s in servers if s["identifier"] == wanted]
    return jsonify(paged(servers, q, "resource_servers", with_length=False))


def get_resource_server(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify(copy.deepcopy(_resource_server(t, id)))


def _check_scopes(scopes: Any) -> None:
    if not isinstance(scopes, list):
        return
    seen: set[str] = set()
    for scope in scopes:
        if not isinstance(scope, dict) or not isinstance(scope.get("value"), str):
            raise bad_body("Payload validation error: 'Expected type object but found type "
                           "string' on property scopes.")
        if scope["value"] in seen:
            raise bad_body(f"Scope values must be unique: {scope['value']}")
        seen.add(scope["value"])


def post_resource_server() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    _check_scopes(body.get("scopes"))
    with t.lock:
        if any(s["identifier"] == body["identifier"] for s in _resource_servers(t)):
            raise _conflict("A resource server with the same identifier already exists",
                            "conflict")
        server = {"id": _id("", 24).lower(), "name": body.get("name", body["identifier"]),
                  "is_system": False, "identifier": body["identifier"],
                  "scopes": list(body.get("scopes", [])),
                  "signing_alg": body.get("signing_alg", "RS256"),
                  "allow_offline_access": bool(body.get("allow_offline_access", False)),
                  "token_lifetime": int(body.get("token_lifetime", 86400)),
                  "token_lifetime_for_web": 7200,
                  "skip_consent_for_verifiable_first_party_clients": bool(
                      body.get("skip_consent_for_verifiable_first_party_clients", False)),
                  "enforce_policies": bool(body.get("enforce_policies", False)),
                  "token_dialect": body.get("token_dialect", "access_token")}
        _state(t).resource_servers[server["id"]] = server
        return jsonify(copy.deepcopy(server)), 201


_RS_UPDATABLE = ("name", "scopes", "signing_alg", "allow_offline_access", "token_lifetime",
                 "skip_consent_for_verifiable_first_party_clients", "enforce_policies",
                 "token_dialect")


def patch_resource_server(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    _check_scopes(body.get("scopes"))
    with t.lock:
        server = _resource_server(t, id)
        if server["is_system"]:
            raise ManagementError(403, "You cannot update a system resource server.",
                                  "operation_not_supported")
        for key in _RS_UPDATABLE:
            if key in body:
                server[key] = copy.deepcopy(body[key])
        return jsonify(copy.deepcopy(server)), 201


# --- clients ------------------------------------------------------------------------------


def _client_document(t: Tenant, client: Client, with_secret: bool) -> dict[str, Any]:
    extra = _state(t).client_documents.get(client.client_id, {})
    doc: dict[str, Any] = {"tenant": t.domain.split(":")[0].split(".")[0], "global": False,
                           "name": client.name, "client_id": client.client_id,
                           "is_first_party": True, "oidc_conformant": True,
                           "app_type": "non_interactive", "callbacks": [],
                           "allowed_logout_urls": [], "web_origins": [],
                           "grant_types": list(client.grant_types),
                           "token_endpoint_auth_method": "client_secret_post",
                           "client_metadata": {}}
    doc.update(copy.deepcopy(extra))
    if with_secret:
        doc["client_secret"] = client.client_secret
    return doc


def _spa_document(t: Tenant, spa: SpaApplication) -> dict[str, Any]:
    doc = {"tenant": t.domain.split(":")[0].split(".")[0], "global": False, "name": spa.name,
           "client_id": spa.client_id, "is_first_party": True, "oidc_conformant": True,
           "app_type": "spa", "callbacks": list(spa.callbacks),
           "allowed_logout_urls": list(spa.allowed_logout_urls),
           "web_origins": list(spa.web_origins), "grant_types": list(spa.grant_types),
           "token_endpoint_auth_method": "none", "client_metadata": {}}
    doc.update(copy.deepcopy(_state(t).client_documents.get(spa.client_id, {})))
    return doc


def _all_clients(t: Tenant, with_secret: bool) -> list[dict[str, Any]]:
    docs = [_client_document(t, c, with_secret) for c in t.clients.values()]
    docs += [_spa_document(t, s) for s in t.spa_clients.values()]
    return docs


def _may_read_secrets() -> bool:
    return "read:client_keys" in caller().scopes


def get_clients() -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        docs = _all_clients(t, _may_read_secrets())
    if q.get("app_type"):
        kinds = set(str(q["app_type"]).split(","))
        docs = [d for d in docs if d["app_type"] in kinds]
    return jsonify(paged(docs, q, "clients", with_length=False))


def _find_client(t: Tenant, id: str) -> tuple[Client | None, SpaApplication | None]:
    if id in t.clients:
        return t.clients[id], None
    if id in t.spa_clients:
        return None, t.spa_clients[id]
    raise _not_found("The client does not exist", "inexistent_client")


def get_client(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        client, spa = _find_client(t, id)
        doc = (_client_document(t, client, _may_read_secrets()) if client is not None
               else _spa_document(t, spa))  # type: ignore[arg-type]
    return jsonify(doc)


_CLIENT_FIELDS = ("description", "app_type", "callbacks", "allowed_logout_urls", "web_origins",
                  "grant_types", "token_endpoint_auth_method", "client_metadata",
                  "oidc_conformant", "is_first_party")


def _check_metadata(body: dict[str, Any]) -> None:
    metadata = body.get("client_metadata")
    if metadata is not None and (not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values())):
        raise bad_body("Payload validation error: 'client_metadata values must be strings'.")


def post_client() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    _check_metadata(body)
    with t.lock:
        client_id = _id("", 32)
        extra = {k: copy.deepcopy(body[k]) for k in _CLIENT_FIELDS if k in body}
        if body.get("app_type") == "spa":
            spa = SpaApplication(client_id, str(body["name"]),
                                 callbacks=list(body.get("callbacks", [])),
                                 allowed_logout_urls=list(body.get("allowed_logout_urls", [])),
                                 web_origins=list(body.get("web_origins", [])),
                                 grant_types=list(body.get("grant_types",
                                                           ["authorization_code"])))
            t.spa_clients[client_id] = spa
            _state(t).client_documents[client_id] = extra
            return jsonify(_spa_document(t, spa)), 201
        client = t.add_client(client_id, None, name=str(body["name"]),
                              grant_types=list(body.get("grant_types", ["client_credentials"])))
        _state(t).client_documents[client_id] = extra
        # Auth0 returns the new client's secret to its creator.
        return jsonify(_client_document(t, client, True)), 201


def patch_client(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    _check_metadata(body)
    with t.lock:
        client, spa = _find_client(t, id)
        extra = _state(t).client_documents.setdefault(id, {})
        for key in _CLIENT_FIELDS:
            if key in body:
                extra[key] = copy.deepcopy(body[key])
        if "name" in body:
            if client is not None:
                client.name = str(body["name"])
            elif spa is not None:
                spa.name = str(body["name"])
        if client is not None:
            if "grant_types" in body:
                client.grant_types = list(body["grant_types"])
            return jsonify(_client_document(t, client, _may_read_secrets()))
        assert spa is not None
        for key in ("callbacks", "allowed_logout_urls", "web_origins", "grant_types"):
            if key in body:
                setattr(spa, key, list(body[key]))
        return jsonify(_spa_document(t, spa))


# --- client grants ------------------------------------------------------------------------


def _grant(id: str, client_id: str, audience: str, scope: list[str]) -> dict[str, Any]:
    return {"id": id, "client_id": client_id, "audience": audience, "scope": list(scope),
            "organization_usage": "deny", "allow_any_organization": False,
            "is_system": False, "subject_type": "client"}


def _grants(t: Tenant) -> list[dict[str, Any]]:
    state = _state(t)
    found = []
    for client in t.clients.values():
        # A grant narrowed to no scope at all still exists (Auth0 keeps it).
        if client.grant_scopes or client.client_id in state.management_grant_ids:
            grant_id = state.management_grant_ids.setdefault(client.client_id, _id("cgr_"))
            found.append(_grant(grant_id, client.client_id, t.management_audience,
                                client.grant_scopes or []))
    found += [copy.deepcopy(g) for g in state.other_grants.values()]
    return found


def get_client_grants() -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        grants = _grants(t)
    for key in ("audience", "client_id"):
        if q.get(key):
            grants = [g for g in grants if g[key] == q[key]]
    return jsonify(paged(grants, q, "client_grants", with_length=False))


def _check_grant_scopes(t: Tenant, audience: str, scope: list[str]) -> None:
    if audience == t.management_audience:
        return  # every Management API scope exists
    server = next((s for s in _resource_servers(t) if s["identifier"] == audience), None)
    if server is None:
        raise _not_found(f"No resource server found for audience {audience}",
                         "inexistent_resource_server")
    defined = {s["value"] for s in server.get("scopes", [])}
    unknown = [s for s in scope if s not in defined]
    if unknown:
        raise bad_body(f"Scope(s) not defined for the resource server: {', '.join(unknown)}")


def post_client_grant() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    client_id = str(body.get("client_id", ""))
    audience = str(body["audience"])
    scope = [str(s) for s in body.get("scope", [])]
    with t.lock:
        if client_id not in t.clients and client_id not in t.spa_clients:
            raise _not_found("The client does not exist", "inexistent_client")
        _check_grant_scopes(t, audience, scope)
        if any(g["client_id"] == client_id and g["audience"] == audience for g in _grants(t)):
            raise _conflict("A client grant for this client and audience already exists",
                            "client_grant_conflict")
        if audience == t.management_audience and client_id in t.clients:
            t.clients[client_id].grant_scopes = scope
            grant_id = _state(t).management_grant_ids.setdefault(client_id, _id("cgr_"))
            return jsonify(_grant(grant_id, client_id, audience, scope)), 201
        grant = _grant(_id("cgr_"), client_id, audience, scope)
        _state(t).other_grants[grant["id"]] = grant
        return jsonify(copy.deepcopy(grant)), 201


def patch_client_grant(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        grant = next((g for g in _grants(t) if g["id"] == id), None)
        if grant is None:
            raise _not_found("The client grant does not exist", "inexistent_client_grant")
        scope = [str(s) for s in body.get("scope", grant["scope"])]
        _check_grant_scopes(t, grant["audience"], scope)
        if grant["audience"] == t.management_audience and grant["client_id"] in t.clients:
            t.clients[grant["client_id"]].grant_scopes = scope
        else:
            _state(t).other_grants[id]["scope"] = scope
        grant["scope"] = scope
        return jsonify(grant)


# --- roles and their permissions --------------------------------------------------------


def post_role() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    name = str(body["name"])
    with t.lock:
        if any(r.name == name for r in t.roles.values()):
            raise _conflict("Role name already exists", "role_conflict")
        role = Role(_id("rol_"), name, str(body.get("description", "")), [])
        t.roles[role.id] = role
        return jsonify(role.as_json()), 200


def _role(t: Tenant, id: str) -> Role:
    role = t.roles.get(id)
    if role is None:
        raise _not_found("The role does not exist.", "inexistent_role")
    return role


def _gateway_identifier(t: Tenant) -> str:
    return t.gateway_audience


def _permission_rows(t: Tenant, role: Role) -> list[dict[str, Any]]:
    rows = []
    servers = {s["identifier"]: s for s in _resource_servers(t)}
    pairs = [(_gateway_identifier(t), p) for p in role.permissions]
    pairs += _state(t).other_role_permissions.get(role.id, [])
    for identifier, name in pairs:
        server = servers.get(identifier, {"name": identifier, "scopes": []})
        description = next((s.get("description", "") for s in server.get("scopes", [])
                            if s.get("value") == name), "")
        rows.append({"permission_name": name, "description": description,
                     "resource_server_name": server["name"],
                     "resource_server_identifier": identifier})
    return rows


def get_role_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        rows = _permission_rows(t, _role(t, id))
    return jsonify(paged(rows, q, "permissions", with_length=False))


def _requested(t: Tenant, body: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    servers = {s["identifier"]: s for s in _resource_servers(t)}
    for item in body["permissions"]:
        if not isinstance(item, dict) or not isinstance(item.get("permission_name"), str) \
                or not isinstance(item.get("resource_server_identifier"), str):
            raise bad_body("Payload validation error: 'Missing required property: "
                           "permission_name' on property permissions.")
        identifier, name = item["resource_server_identifier"], item["permission_name"]
        server = servers.get(identifier)
        if server is None:
            raise _not_found(f"Resource server {identifier} does not exist",
                             "inexistent_resource_server")
        if name not in {s["value"] for s in server.get("scopes", [])}:
            raise bad_body(f"Permission {name} does not exist for resource server "
                           f"{identifier}")
        pairs.append((identifier, name))
    return pairs


def post_role_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        role = _role(t, id)
        for identifier, name in _requested(t, body):
            if identifier == _gateway_identifier(t):
                if name not in role.permissions:
                    role.permissions.append(name)
            else:
                others = _state(t).other_role_permissions.setdefault(role.id, [])
                if (identifier, name) not in others:
                    others.append((identifier, name))
    return "", 201


def delete_role_permissions(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        role = _role(t, id)
        for identifier, name in _requested(t, body):
            if identifier == _gateway_identifier(t):
                if name in role.permissions:
                    role.permissions.remove(name)
            else:
                others = _state(t).other_role_permissions.get(role.id, [])
                if (identifier, name) in others:
                    others.remove((identifier, name))
    return "", 200


# --- Actions and trigger bindings ---------------------------------------------------------

TRIGGERS = {"post-login": "v3", "credentials-exchange": "v2", "pre-user-registration": "v2",
            "post-user-registration": "v2", "post-change-password": "v2",
            "send-phone-message": "v2"}


def _action(t: Tenant, id: str) -> dict[str, Any]:
    action = _state(t).actions.get(id)
    if action is None:
        raise _not_found("The action does not exist.", "inexistent_action")
    return action


def _public(action: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in action.items() if not k.startswith("_")}


def get_actions() -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        actions = [_public(a) for a in _state(t).actions.values()]
    if q.get("actionName"):
        actions = [a for a in actions if a["name"] == q["actionName"]]
    if q.get("triggerId"):
        actions = [a for a in actions
                   if any(tr["id"] == q["triggerId"] for tr in a["supported_triggers"])]
    page = int(q.get("page", 0))
    per_page = int(q.get("per_page", 50))
    window = actions[page * per_page:(page + 1) * per_page]
    return jsonify({"total": len(actions), "page": page, "per_page": per_page,
                    "actions": window})


def get_action(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify(_public(_action(t, id)))


def _triggers(raw: Any) -> list[dict[str, Any]]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or item.get("id") not in TRIGGERS:
            raise bad_body(f"Invalid trigger: {item!r}")
        found.append({"id": item["id"], "version": str(item.get("version",
                                                                 TRIGGERS[item["id"]]))})
    if not found:
        raise bad_body("Payload validation error: 'Array is too short (0), minimum 1' on "
                       "property supported_triggers.")
    return found


def post_action() -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    triggers = _triggers(body["supported_triggers"])
    with t.lock:
        if any(a["name"] == body["name"] for a in _state(t).actions.values()):
            raise _conflict("An action with the same name already exists", "action_conflict")
        now = now_iso()
        action: dict[str, Any] = {
                  "id": str(uuid.uuid4()),
                  "name": str(body["name"]), "supported_triggers": triggers,
                  "all_changes_deployed": False, "created_at": now, "updated_at": now,
                  "code": str(body.get("code", "")), "dependencies": [],
                  "runtime": str(body.get("runtime", "node22")), "secrets": [],
                  "status": "built", "built_at": now, "_versions": 0}
        _state(t).actions[action["id"]] = action
        if body.get("deploy"):
            _deploy(action)
        return jsonify(_public(action)), 201


def patch_action(id: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    with t.lock:
        action = _action(t, id)
        for key in ("name", "code", "runtime"):
            if key in body and body[key] != action[key]:
                action[key] = body[key]
                action["all_changes_deployed"] = False
        if "supported_triggers" in body:
            action["supported_triggers"] = _triggers(body["supported_triggers"])
        action["updated_at"] = now_iso()
        return jsonify(_public(action))


def _deploy(action: dict[str, Any]) -> dict[str, Any]:
    action["_versions"] += 1
    action["all_changes_deployed"] = True
    action["_deployed_code"] = action["code"]
    now = now_iso()
    version = {"id": _id("", 24).lower(), "action_id": action["id"], "code": action["code"],
               "dependencies": [], "deployed": True, "runtime": action["runtime"],
               "secrets": [], "status": "built", "number": action["_versions"],
               "built_at": now, "created_at": now, "updated_at": now,
               "supported_triggers": copy.deepcopy(action["supported_triggers"])}
    action["deployed_version"] = {k: version[k] for k in (
        "id", "action_id", "code", "dependencies", "deployed", "runtime", "secrets", "status",
        "number", "built_at")}
    return version


def post_deploy_action(id: str) -> ResponseReturnValue:
    t = tenant()
    with t.lock:
        return jsonify(_deploy(_action(t, id))), 202


def _binding_json(t: Tenant, binding: dict[str, Any]) -> dict[str, Any]:
    action = _state(t).actions.get(binding["_action_id"], {})
    return {"id": binding["id"], "trigger_id": binding["trigger_id"],
            "display_name": binding["display_name"],
            "action": {k: copy.deepcopy(action[k]) for k in (
                "id", "name", "supported_triggers", "all_changes_deployed", "created_at",
                "updated_at") if k in action},
            "created_at": binding["created_at"], "updated_at": binding["updated_at"]}


def _trigger(triggerId: str) -> str:
    if triggerId not in TRIGGERS:
        raise _not_found(f"The trigger {triggerId} does not exist.", "inexistent_trigger")
    return triggerId


def get_bindings(triggerId: str) -> ResponseReturnValue:
    t = tenant()
    q = query()
    with t.lock:
        bindings = [_binding_json(t, b)
                    for b in _state(t).bindings.get(_trigger(triggerId), [])]
    page = int(q.get("page", 0))
    per_page = int(q.get("per_page", 20))
    return jsonify({"total": len(bindings), "page": page, "per_page": per_page,
                    "bindings": bindings[page * per_page:(page + 1) * per_page]})


def _resolve(t: Tenant, trigger: str, ref: Any, existing: list[dict[str, Any]]) -> str:
    if not isinstance(ref, dict) or ref.get("type") not in ("binding_id", "action_id",
                                                            "action_name"):
        raise bad_body("Payload validation error: 'Invalid binding reference'.")
    value = ref.get("value")
    if ref["type"] == "binding_id":
        found = next((b for b in existing if b["id"] == value), None)
        if found is None:
            raise _not_found(f"The binding {value} does not exist.", "inexistent_binding")
        action_id: str = found["_action_id"]
        return action_id
    actions = _state(t).actions.values()
    key = "id" if ref["type"] == "action_id" else "name"
    action = next((a for a in actions if a[key] == value), None)
    if action is None:
        raise _not_found(f"The action {value} does not exist.", "inexistent_action")
    if not any(tr["id"] == trigger for tr in action["supported_triggers"]):
        raise bad_body(f"The action {action['name']} does not support the trigger {trigger}.")
    if "_deployed_code" not in action:
        raise bad_body(f"The action {action['name']} has not been deployed.")
    found_id: str = action["id"]
    return found_id


def patch_bindings(triggerId: str) -> ResponseReturnValue:
    t = tenant()
    body = validated_body()
    trigger = _trigger(triggerId)
    with t.lock:
        existing = _state(t).bindings.get(trigger, [])
        fresh = []
        now = now_iso()
        for item in body.get("bindings", []):
            if not isinstance(item, dict):
                raise bad_body("Payload validation error: 'Expected type object'.")
            action_id = _resolve(t, trigger, item.get("ref"), existing)
            kept = next((b for b in existing if b["_action_id"] == action_id), None)
            name = str(item.get("display_name") or _state(t).actions[action_id]["name"])
            fresh.append({"id": kept["id"] if kept else _id("", 24).lower(),
                          "trigger_id": trigger, "display_name": name,
                          "_action_id": action_id,
                          "created_at": kept["created_at"] if kept else now,
                          "updated_at": now})
        _state(t).bindings[trigger] = fresh
        return jsonify({"bindings": [_binding_json(t, b) for b in fresh]})
