"""The deterministic demo tenant: users, roles, organizations, clients, logs.

Everything except client secrets derives from ``random.Random(seed)`` so tests
and demos can rely on the same users and ids on every run. Secrets come from
``secrets`` so nothing guessable ever authenticates, even on loopback.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import string
import threading
from typing import Any, Protocol

from emulator.models import Client, Connection, Organization, Role


class SeedTarget(Protocol):
    """The parts of the Tenant the demo data fills (a protocol: tenant.py imports this
    module for Tenant.demo, so it is not imported back)."""

    lock: threading.RLock
    connections: dict[str, Connection]
    organizations: dict[str, Organization]
    roles: dict[str, Role]
    users: dict[str, dict[str, Any]]
    logs: dict[str, list[dict[str, Any]]]
    aliases: dict[str, str]
    user_roles: dict[str, list[str]]
    user_blocks: dict[str, list[dict[str, Any]]]
    panel_client_id: str

    def add_client(self, client_id: str, scopes: list[str] | None, secret: str | None = None,
                   *, name: str | None = None, token_lifetime: int | None = None,
                   grant_types: list[str] | None = None) -> Client: ...
    def connection_named(self, name: str) -> Connection | None: ...

DEPARTMENTS = ("support", "sales", "engineering", "finance", "hr")
DB_CONNECTION = "Username-Password-Authentication"
GOOGLE_CONNECTION = "google-oauth2"
RANDOM_USERS = 295
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)

READER_PERMISSIONS = ["users:read", "roles:read", "users:roles:read", "users:logs:read"]
EDITOR_PERMISSIONS = READER_PERMISSIONS + [
    "users:update", "users:block", "users:update_metadata", "users:password_reset",
]
ADMIN_PERMISSIONS = EDITOR_PERMISSIONS + [
    "users:create", "users:delete", "users:roles:assign", "users:update_app_metadata",
    "users:mfa_reset", "audit:read",
]

READ_SCOPES = ["read:users", "read:roles", "read:logs_users", "read:sessions",
               "read:refresh_tokens", "read:authentication_methods", "read:organizations",
               "read:organization_members", "read:organization_member_roles",
               "read:organization_invitations"]
WRITE_SCOPES = ["update:users", "create:user_tickets"]
ADMIN_SCOPES = [
    "create:users", "delete:users", "create:role_members", "delete:role_members",
    "delete:guardian_enrollments", "update:users_app_metadata",
    "delete:authentication_methods", "delete:sessions", "delete:refresh_tokens",
    "create:organization_members", "delete:organization_members",
    "create:organization_member_roles", "delete:organization_member_roles",
    "create:organization_invitations", "delete:organization_invitations",
]
# Client id -> (name, Management API scopes); each tier is one M2M app.
DEMO_CLIENTS: dict[str, tuple[str, list[str]]] = {
    "gateway-read": ("Admin Gateway (read tier)", READ_SCOPES),
    "gateway-write": ("Admin Gateway (write tier)", WRITE_SCOPES),
    "gateway-admin": ("Admin Gateway (admin tier)", ADMIN_SCOPES),
    "gateway-all": ("Admin Gateway (single tier)", READ_SCOPES + WRITE_SCOPES + ADMIN_SCOPES),
    "no-grant-app": ("App without a Management API grant", []),
}

# alias -> (given, family, department, role name or None, has org)
FIXED_USERS: dict[str, tuple[str, str, str, str | None, bool]] = {
    "alice": ("Alice", "Anders", "support", "Support Reader", False),
    "bob": ("Bob", "Brown", "support", "Support Editor", False),
    "carol": ("Carol", "Chen", "engineering", "User Admin", False),
    "dave": ("Dave", "Diaz", "support", None, False),
    "erin": ("Erin", "Evans", "sales", "Support Reader", True),
}

FIRST_NAMES = (
    "Aaron Abby Adam Ada Ahmed Aisha Alan Alex Amir Ana Andre Anna Ben Bianca Boris Carla "
    "Chen Chloe Chris Clara Dan Daria Diego Dina Eli Elena Emil Emma Eric Eva Farah Felix "
    "Gina Hana Hugo Ian Ines Ivan Jack Jana Jon Julia Kai Kara Kim Lars Lea Leo Lina Luca "
    "Maya Mia Milo Nadia Nina Noah Omar Olga Oscar Paula Pedro Priya Quinn Rosa Ravi Sam "
    "Sara Sven Tara Theo Uma Victor Wendy Xavier Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Adams Bauer Costa Dubois Evans Fischer Garcia Hansen Ito Jensen Kowalski Larsen "
    "Martin Novak Okafor Petrov Quist Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz Zhang"
).split()
LOG_TYPES = (
    ("s", "Success Login"),
    ("fp", "Wrong email or password."),
    ("slo", "User successfully logged out."),
    ("scp", "Password changed successfully."),
    ("f", "Failed Login"),
)
USER_AGENTS = (
    "Chrome 120.0.0 / Mac OS X 10.15.7",
    "Firefox 121.0.0 / Linux 0.0.0",
    "Safari 17.1.0 / iOS 17.1.0",
    "Edge 120.0.0 / Windows 10.0.0",
)


def iso(moment: datetime.datetime) -> str:
    """Auth0's timestamp format: ISO 8601 UTC with milliseconds and a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _moment(rng: random.Random, days_back: int) -> datetime.datetime:
    seconds = rng.randint(0, days_back * 86400)
    return EPOCH - datetime.timedelta(seconds=seconds, milliseconds=rng.randint(0, 999))


def populate(tenant: SeedTarget, seed: int) -> None:
    rng = random.Random(seed)
    with tenant.lock:
        _connections(tenant, rng)
        _organizations(tenant, rng)
        _roles(tenant, rng)
        for client_id, (name, scopes) in DEMO_CLIENTS.items():
            tenant.add_client(client_id, scopes, name=name)
        _fixed_users(tenant, rng)
        _random_users(tenant, rng)


def _connections(tenant: SeedTarget, rng: random.Random) -> None:
    for name, strategy in ((DB_CONNECTION, "auth0"), (GOOGLE_CONNECTION, "google-oauth2")):
        conn = Connection(id="con_" + _alnum(rng, 16), name=name, strategy=strategy)
        tenant.connections[conn.id] = conn


def _organizations(tenant: SeedTarget, rng: random.Random) -> None:
    for name, display in (("acme", "Acme Corp"), ("globex", "Globex"), ("initech", "Initech")):
        org = Organization(id="org_" + _alnum(rng, 16), name=name, display_name=display)
        tenant.organizations[org.id] = org


def _roles(tenant: SeedTarget, rng: random.Random) -> None:
    for name, description, permissions in (
        ("Support Reader", "Reads users, their roles and logs", READER_PERMISSIONS),
        ("Support Editor", "Support Reader plus profile edits, blocks, resets",
         EDITOR_PERMISSIONS),
        ("User Admin", "Everything the gateway offers", ADMIN_PERMISSIONS),
    ):
        role = Role(id="rol_" + _alnum(rng, 16), name=name, description=description,
                    permissions=list(permissions))
        tenant.roles[role.id] = role


def _role_id(tenant: SeedTarget, name: str) -> str:
    return next(r.id for r in tenant.roles.values() if r.name == name)


def _fixed_users(tenant: SeedTarget, rng: random.Random) -> None:
    first_org = next(iter(tenant.organizations))
    for alias, (given, family, department, role, has_org) in FIXED_USERS.items():
        local_id = alias + "0" * (23 - len(alias)) + "1"
        app_metadata: dict[str, Any] = {"department": department}
        if has_org:
            app_metadata["org_id"] = first_org
        user = _db_user(rng, local_id, given, family, f"{alias}@example.com", app_metadata)
        _add_user(tenant, rng, user)
        tenant.aliases[alias] = user["user_id"]
        if role:
            tenant.user_roles[user["user_id"]] = [_role_id(tenant, role)]


def _random_users(tenant: SeedTarget, rng: random.Random) -> None:
    org_ids = list(tenant.organizations)
    role_ids = {r.name: r.id for r in tenant.roles.values()}
    for n in range(RANDOM_USERS):
        given, family = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        app_metadata: dict[str, Any] = {"department": rng.choice(DEPARTMENTS)}
        if rng.random() < 0.2:
            app_metadata["org_id"] = rng.choice(org_ids)
        if rng.random() < 0.15:
            email = f"{given}.{family}.{n}@gmail.com".lower()
            user = _google_user(rng, given, family, email, app_metadata)
        else:
            email = f"{given}.{family}.{n}@example.com".lower()
            user = _db_user(rng, _hex(rng, 24), given, family, email, app_metadata)
            if rng.random() < 0.2:
                user["multifactor"] = ["guardian"]
        if rng.random() < 0.03:
            user["blocked"] = True
        _add_user(tenant, rng, user)
        uid = user["user_id"]
        if rng.random() < 0.03:
            tenant.user_blocks[uid] = [
                {"identifier": email, "ip": f"203.0.113.{rng.randint(1, 254)}",
                 "connection": DB_CONNECTION}
            ]
        draw = rng.random()
        if draw < 0.02:
            tenant.user_roles[uid] = [role_ids["User Admin"]]
        elif draw < 0.07:
            tenant.user_roles[uid] = [role_ids["Support Editor"]]
        elif draw < 0.17:
            tenant.user_roles[uid] = [role_ids["Support Reader"]]


def _base_user(
    rng: random.Random, given: str, family: str, email: str, app_metadata: dict[str, Any]
) -> dict[str, Any]:
    created = _moment(rng, 720)
    updated = created + datetime.timedelta(days=rng.randint(0, 60))
    last_login = updated + datetime.timedelta(hours=rng.randint(1, 2000))
    initials = (given[0] + family[0]).lower()
    return {
        "email": email,
        "email_verified": rng.random() < 0.85,
        "name": f"{given} {family}",
        "given_name": given,
        "family_name": family,
        "nickname": email.split("@", 1)[0],
        "picture": f"https://cdn.auth0.com/avatars/{initials}.png",
        "created_at": iso(created),
        "updated_at": iso(updated),
        "last_login": iso(last_login),
        "last_ip": f"198.51.100.{rng.randint(1, 254)}",
        "logins_count": rng.randint(1, 400),
        "app_metadata": app_metadata,
        "user_metadata": {"preferred_language": rng.choice(("en", "de", "fr", "es")),
                          "theme": rng.choice(("light", "dark"))},
    }


def _db_user(
    rng: random.Random, local_id: str, given: str, family: str, email: str,
    app_metadata: dict[str, Any],
) -> dict[str, Any]:
    user = _base_user(rng, given, family, email, app_metadata)
    user["user_id"] = f"auth0|{local_id}"
    user["identities"] = [
        {"connection": DB_CONNECTION, "user_id": local_id, "provider": "auth0", "isSocial": False}
    ]
    return user


def _google_user(
    rng: random.Random, given: str, family: str, email: str, app_metadata: dict[str, Any]
) -> dict[str, Any]:
    user = _base_user(rng, given, family, email, app_metadata)
    user["email_verified"] = True
    local_id = str(rng.randint(10**20, 10**21 - 1))
    user["user_id"] = f"google-oauth2|{local_id}"
    # The IdP's tokens: Auth0 returns them only to holders of read:user_idp_tokens.
    user["identities"] = [
        {
            "connection": GOOGLE_CONNECTION,
            "user_id": local_id,
            "provider": "google-oauth2",
            "isSocial": True,
            "access_token": "ya29." + _alnum(rng, 60),
            "refresh_token": "1//0" + _alnum(rng, 40),
        }
    ]
    return user


def _add_user(tenant: SeedTarget, rng: random.Random, user: dict[str, Any]) -> None:
    tenant.users[user["user_id"]] = user
    tenant.logs[user["user_id"]] = [_log(tenant, rng, user) for _ in range(rng.randint(0, 6))]


def _log(tenant: SeedTarget, rng: random.Random, user: dict[str, Any]) -> dict[str, Any]:
    kind, description = rng.choice(LOG_TYPES)
    identity = user["identities"][0]
    conn = tenant.connection_named(identity["connection"])
    when = _moment(rng, 90) + datetime.timedelta(days=90)
    log_id = "900" + str(rng.randrange(10**52, 10**53))
    return {
        "date": iso(when),
        "type": kind,
        "description": description,
        "client_id": tenant.panel_client_id,
        "client_name": "Admin Panel",
        "ip": user["last_ip"],
        "user_agent": rng.choice(USER_AGENTS),
        "user_id": user["user_id"],
        "user_name": user["email"],
        "connection": identity["connection"],
        "connection_id": conn.id if conn else "",
        "strategy": identity["provider"],
        "strategy_type": "social" if identity["isSocial"] else "database",
        "hostname": "admin-gateway-demo.auth0.local",
        "isMobile": False,
        "log_id": log_id,
        "details": {"fingerprint": hashlib.sha256(log_id.encode()).hexdigest()[:16]},
    }
