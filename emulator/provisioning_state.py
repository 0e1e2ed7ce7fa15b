"""What the emulated tenant holds beyond users: APIs, application details, grants, Actions.

Clients stay `Client` records in `Tenant.clients` (the token endpoint reads
them), with their Management API client grant as `Client.grant_scopes`; this
state adds what the provisioning endpoints need: each client's Auth0 document
(app type, metadata, URLs), stable grant ids, grants on other APIs, the
resource servers, the Actions and their trigger bindings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ProvisioningState:
    # Resource servers by id, as Auth0 returns them (the Management API itself is
    # synthesized at request time: its identifier follows where the emulator listens).
    resource_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    # client_id -> the client's Auth0 document fields besides id, secret and name.
    client_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # client_id -> id of its Management API client grant.
    management_grant_ids: dict[str, str] = field(default_factory=dict)
    # Grants on other APIs, by id: {id, client_id, audience, scope}.
    other_grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    # role id -> permissions on APIs other than the gateway's: (identifier, name).
    other_role_permissions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # trigger id -> bindings in execution order: {id, action_id, display_name, ...}.
    bindings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def seed_api(self, resource_server_id: str, identifier: str, name: str,
                 permissions: list[str]) -> None:
        """An API as a tenant set up by hand has it: RBAC on, permissions in the token."""
        self.resource_servers[resource_server_id] = {
            "id": resource_server_id, "name": name, "is_system": False,
            "identifier": identifier,
            "scopes": [{"value": p, "description": p} for p in permissions],
            "signing_alg": "RS256", "allow_offline_access": False, "token_lifetime": 86400,
            "token_lifetime_for_web": 7200, "skip_consent_for_verifiable_first_party_clients": True,
            "enforce_policies": True, "token_dialect": "access_token_authz"}
