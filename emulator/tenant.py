"""All in-memory state of one emulated Auth0 tenant.

One re-entrant lock guards everything: the emulator is a test double, so
simplicity beats concurrency. Request handlers take ``tenant.lock`` while they
read or change users, roles, blocks and logs.
"""

from __future__ import annotations

import pickle
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from emulator import jws, tokens
from emulator.account_state import DEFAULT_PLAN, PLANS, AccountState
from emulator.faults import FaultInjector
from emulator.keys import KeyRing, SigningKey
from emulator.login import LoginState, SpaApplication
from emulator.models import Client, Connection, Organization, RecordedRequest, Role
from emulator.provisioning_state import ProvisioningState
from emulator.seed import populate
from emulator.seed_accounts import populate_accounts

GATEWAY_AUDIENCE = "https://admin-gateway.example.com/api"
GATEWAY_API_NAME = "Admin Gateway API"
CLAIM_NAMESPACE = "https://admin-gateway.example.com/"
DEFAULT_TOKEN_LIFETIME = 86400  # Auth0's default for client-credentials tokens
# What snapshot()/restore() carry: the tenant's data, not its keys or counters.
_DATA_ATTRIBUTES = (
    "token_lifetime", "clients", "connections", "organizations", "roles", "users", "aliases",
    "user_roles", "user_blocks", "logs", "tickets", "jobs", "_minted", "_revoked_jtis",
    "provisioning", "accounts", "plan",
)


@dataclass(frozen=True)
class TenantSnapshot:
    pickled: bytes

    def data(self) -> dict[str, Any]:
        """A fresh copy of the saved attributes."""
        loaded: dict[str, Any] = pickle.loads(self.pickled)  # noqa: S301 - our own bytes
        return loaded


class Tenant:
    gateway_audience = GATEWAY_AUDIENCE
    gateway_api_name = GATEWAY_API_NAME
    roles_claim = CLAIM_NAMESPACE + "roles"
    department_claim = CLAIM_NAMESPACE + "department"
    # When and how the user logged in: what the gateway's post-login Action copies into
    # access tokens (Auth0 puts auth_time/acr/amr into none by itself).
    auth_time_claim = CLAIM_NAMESPACE + "auth_time"
    acr_claim = CLAIM_NAMESPACE + "acr"
    amr_claim = CLAIM_NAMESPACE + "amr"
    panel_client_id = "adminPanelSpaClient0000000000001"

    def __init__(self, *, token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
                 plan: str = DEFAULT_PLAN) -> None:
        self.lock = threading.RLock()
        self.keys = KeyRing()
        self.faults = FaultInjector()
        # Replaced by EmulatorServer.start(); every issuer-derived value follows it.
        self.base_url = "http://127.0.0.1"
        self.token_lifetime = token_lifetime
        self.clients: dict[str, Client] = {}
        self.connections: dict[str, Connection] = {}
        self.organizations: dict[str, Organization] = {}
        self.roles: dict[str, Role] = {}
        # Auth0 user documents as the Management API returns them, keyed by user_id.
        self.users: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.user_roles: dict[str, list[str]] = {}
        # Brute-force protection blocks (GET/DELETE /user-blocks/{id}).
        self.user_blocks: dict[str, list[dict[str, Any]]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.tickets: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        self._minted: dict[str, str] = {}  # jti -> client_id of Management tokens
        self._revoked_jtis: set[str] = set()
        # APIs, application details, grants, Actions (emulator/provisioning_state.py).
        self.provisioning = ProvisioningState()
        # Sessions, refresh tokens, MFA methods, direct permissions, organization members.
        self.accounts = AccountState()
        # Auth0's subscription plan: some endpoints exist only on Enterprise.
        self.plan = DEFAULT_PLAN
        self.set_plan(plan)
        # The admin panel's login (emulator/login.py); not part of snapshots, like keys.
        self.spa_clients: dict[str, SpaApplication] = {
            self.panel_client_id: SpaApplication(self.panel_client_id, "Admin Panel")}
        self.login = LoginState()
        self.reset_counters()

    @classmethod
    def demo(cls, seed: int = 7, *, plan: str = DEFAULT_PLAN) -> Tenant:
        """The deterministic demo tenant (users, roles, clients; see docs/emulator.md)."""
        tenant = cls(plan=plan)
        populate(tenant, seed)
        populate_accounts(tenant, seed)
        # The gateway's API, as a tenant set up by hand has it (RBAC on, permissions in tokens).
        tenant.provisioning.seed_api(
            "gatewayapi00000000000001", tenant.gateway_audience, tenant.gateway_api_name,
            sorted({p for role in tenant.roles.values() for p in role.permissions}))
        return tenant

    # -- snapshots ------------------------------------------------------------------

    def snapshot(self) -> TenantSnapshot:
        """A copy of the tenant's data (not keys, faults or counters)."""
        with self.lock:
            # pickle rather than deepcopy: several times faster, and only our own data.
            return TenantSnapshot(pickle.dumps({name: getattr(self, name)
                                                for name in _DATA_ATTRIBUTES}))

    def restore(self, snapshot: TenantSnapshot) -> None:
        """Put the data back as it was at ``snapshot()``; cheaper than a new tenant."""
        with self.lock:
            for name, value in snapshot.data().items():
                setattr(self, name, value)

    def set_plan(self, plan: str) -> None:
        """Switch the tenant's plan ("free", "essentials", "professional", "enterprise")."""
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}; one of: {', '.join(PLANS)}")
        with self.lock:
            self.plan = plan

    # -- identifiers derived from where the server listens ---------------------

    @property
    def issuer(self) -> str:
        # Auth0's iss always ends with a slash.
        return self.base_url.rstrip("/") + "/"

    @property
    def management_audience(self) -> str:
        return self.issuer + "api/v2/"

    @property
    def domain(self) -> str:
        return self.base_url.split("://", 1)[-1].rstrip("/")

    # -- counters -----------------------------------------------------------------

    def reset_counters(self) -> None:
        with self.lock:
            self.tokens_issued: Counter[str] = Counter()
            self.calls: Counter[str] = Counter()
            self.jwks_fetches = 0
            self.request_log: list[RecordedRequest] = []

    def record(self, entry: RecordedRequest) -> None:
        with self.lock:
            self.request_log.append(entry)

    # -- users and roles ----------------------------------------------------------

    def user_id(self, alias: str) -> str:
        """The user_id of a demo alias ("alice", ...); user ids pass through."""
        with self.lock:
            if alias in self.aliases:
                return self.aliases[alias]
            if alias in self.users:
                return alias
        raise KeyError(f"no user or alias {alias!r} in this tenant")

    def roles_of(self, user_id: str) -> list[Role]:
        with self.lock:
            return [self.roles[r] for r in self.user_roles.get(user_id, []) if r in self.roles]

    def user_permission_names(self, user_id: str) -> list[str]:
        """The user's permissions on the gateway API (from roles and direct), sorted."""
        with self.lock:
            direct = {name for api, name in self.accounts.direct_permissions.get(user_id, [])
                      if api == self.gateway_audience}
            return sorted(direct | {p for role in self.roles_of(user_id)
                                    for p in role.permissions})

    def connection_named(self, name: str) -> Connection | None:
        with self.lock:
            return next((c for c in self.connections.values() if c.name == name), None)

    def allow_panel_origin(self, origin: str) -> None:
        """Allowed callback URL, logout URL and web origin of the admin panel."""
        with self.lock:
            self.spa_clients[self.panel_client_id].allow_origin(origin)

    # -- M2M clients ----------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        scopes: list[str] | None,
        secret: str | None = None,
        *,
        name: str | None = None,
        token_lifetime: int | None = None,
        grant_types: list[str] | None = None,
    ) -> Client:
        client = Client(
            client_id=client_id,
            client_secret=secret if secret is not None else secrets.token_urlsafe(48),
            name=name or client_id,
            grant_scopes=list(scopes) if scopes else None,
            token_lifetime=token_lifetime,
        )
        if grant_types is not None:
            client.grant_types = list(grant_types)
        with self.lock:
            self.clients[client_id] = client
        return client

    # -- tokens -------------------------------------------------------------------

    def issue_user_token(
        self,
        user: str,
        *,
        profile: str = "auth0",
        expires_in: int = 3600,
        audience: str | list[str] | None = None,
        org_id: str | None = None,
        extra_claims: dict[str, Any] | None = None,
        include_roles: bool = True,
    ) -> str:
        """An end-user access token for a demo alias or user_id, signed by the current key."""
        with self.lock:
            header, claims = tokens.user_token_parts(
                self,
                self.user_id(user),
                profile=profile,
                expires_in=expires_in,
                audience=audience,
                org_id=org_id,
                extra_claims=extra_claims,
                include_roles=include_roles,
            )
        return self.sign(claims, header)

    def sign(
        self,
        claims: dict[str, Any],
        headers: dict[str, Any] | None = None,
        *,
        key: str = "current",
    ) -> str:
        """Sign arbitrary claims, for positive and negative tests.

        ``key``: "current", "next" (published, not yet signing), "foreign" (never
        published), "hs256-public" (HS256 keyed with the current public key PEM,
        the classic algorithm-confusion attack) or the kid of a known key, also a
        revoked one. ``headers`` override or extend the default header; a value
        of None removes that member (e.g. ``{"kid": None}``); ``{"alg": "none"}``
        gives an unsigned token.
        """
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        secret: bytes | None = None
        signing = self._signing_key(key)
        header["kid"] = signing.kid
        if key == "hs256-public":
            header["alg"] = "HS256"
            secret = signing.public_pem
        for name, value in (headers or {}).items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        return jws.encode(header, claims, rsa_key=signing.private_key, hmac_secret=secret)

    def _signing_key(self, key: str) -> SigningKey:
        if key in ("current", "hs256-public"):
            return self.keys.current
        if key == "foreign":
            return self.keys.foreign
        if key == "next":
            nxt = self.keys.next
            if nxt is None:
                raise ValueError("no next key: call tenant.keys.publish_next() first")
            return nxt
        found = self.keys.any_key(key)
        if found is None:
            raise ValueError(f"unknown signing key {key!r}")
        return found

    def mint_management_token(self, client: Client) -> tuple[str, int]:
        """A client-credentials token for the Management API: (token, expires_in)."""
        lifetime = client.token_lifetime or self.token_lifetime
        claims = tokens.management_token_claims(self, client, lifetime)
        token = self.sign(claims)
        with self.lock:
            self._minted[claims["jti"]] = client.client_id
            self.tokens_issued[client.client_id] += 1
        return token, lifetime

    def revoke_management_tokens(self, client_id: str | None = None) -> int:
        """Every Management token minted so far (for one client or all) answers 401 from now on."""
        with self.lock:
            hit = {j for j, c in self._minted.items() if client_id is None or c == client_id}
            self._revoked_jtis |= hit
            return len(hit)

    def is_revoked(self, jti: str | None) -> bool:
        with self.lock:
            return jti is not None and jti in self._revoked_jtis
