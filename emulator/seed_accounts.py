"""Demo data beyond profiles: sessions, refresh tokens, MFA methods, linked identities,
organization members and invitations.

Runs after ``seed.populate`` with a random generator of its own, so the users,
ids and logs that populate() makes stay exactly what they were. Profiles change
only where this data shows in them: ``multifactor`` of users with a second
factor, and the linked secondary identities of bob and dave.

Timestamps are fixed around ``seed.EPOCH`` so every run is identical; the
emulator never expires a seeded session or refresh token.
"""

from __future__ import annotations

import datetime
import random
import string
from typing import Any, Protocol

from emulator.account_state import AccountState
from emulator.models import Organization, Role
from emulator.seed import EPOCH, GOOGLE_CONNECTION, iso

# alias -> authentication method types (a recovery code comes with any second factor).
FIXED_MFA: dict[str, tuple[str, ...]] = {
    "bob": ("totp",),
    "carol": ("phone", "webauthn-roaming", "email"),
    "erin": ("push",),
}
# alias -> number of sessions; the first session of each has a refresh token bound to it.
FIXED_SESSIONS = {"alice": 2, "bob": 1, "carol": 1}
# Database users with a google-oauth2 account linked into them (something to unlink).
FIXED_LINKED = ("bob", "dave")
# org name -> (fixed member aliases, org role of each member or None).
FIXED_MEMBERS: dict[str, dict[str, str | None]] = {
    "acme": {"erin": "Support Reader", "bob": None},
    "globex": {"carol": "User Admin"},
}
# Auth0 builds invitation links from the application's default login route; the demo
# panel has none configured, so invitations point at this one.
INVITATION_LOGIN_ROUTE = "https://admin-panel.example.com/login"
INVITATION_TTL = 7 * 86400  # Auth0's default ttl_sec
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
)
_ALNUM = string.ascii_letters + string.digits


class AccountsTarget(Protocol):
    """The parts of the Tenant this module fills (tenant.py imports it)."""

    accounts: AccountState
    users: dict[str, dict[str, Any]]
    aliases: dict[str, str]
    organizations: dict[str, Organization]
    roles: dict[str, Role]
    panel_client_id: str
    gateway_audience: str


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def _at(days: float) -> datetime.datetime:
    return EPOCH + datetime.timedelta(days=days)


def mask_email(email: str) -> str:
    """How Auth0 shows an email factor: "chuck334@example.com" -> "chuc****@exam*******"."""
    local, _, domain = email.partition("@")
    return f"{_mask(local)}@{_mask(domain)}"


def _mask(part: str) -> str:
    return part[:4] + "*" * (len(part) - 4) if len(part) > 4 else "****"


def mask_phone(number: str) -> str:
    """How Auth0 shows a phone factor: all but the last four characters as X."""
    return "X" * (len(number) - 4) + number[-4:]


def recovery_code_method(device_id: str, created_at: str) -> dict[str, Any]:
    return {"id": f"recovery-code|{device_id}", "type": "recovery-code", "confirmed": True,
            "created_at": created_at, "enrolled_at": created_at}


def invitation_url(ticket_id: str, org: Organization) -> str:
    return (f"{INVITATION_LOGIN_ROUTE}?invitation={ticket_id}&organization={org.id}"
            f"&organization_name={org.name}")


def populate_accounts(tenant: AccountsTarget, seed: int) -> None:
    rng = random.Random(f"accounts:{seed}")
    for alias in FIXED_LINKED:
        _link_google(tenant, rng, tenant.aliases[alias])
    for alias, kinds in FIXED_MFA.items():
        _enroll(tenant, rng, tenant.aliases[alias], kinds)
    for alias, count in FIXED_SESSIONS.items():
        _sessions(tenant, rng, tenant.aliases[alias], count, bound_token=True)
    fixed = set(tenant.aliases.values())
    for user_id, user in tenant.users.items():
        if user_id in fixed:
            continue
        if user.get("multifactor"):
            _enroll(tenant, rng, user_id, (rng.choice(("totp", "push")),))
        if rng.random() < 0.25:
            _sessions(tenant, rng, user_id, rng.randint(1, 2), bound_token=rng.random() < 0.6)
    _organizations(tenant, rng)


def _link_google(tenant: AccountsTarget, rng: random.Random, user_id: str) -> None:
    user = tenant.users[user_id]
    email = f"{user['given_name']}.{user['family_name']}@gmail.com".lower()
    # Auth0 keeps the secondary account's profile in profileData of its identity.
    user["identities"].append({
        "profileData": {"email": email, "email_verified": True, "name": user["name"],
                        "given_name": user["given_name"], "family_name": user["family_name"],
                        "picture": user["picture"]},
        "connection": GOOGLE_CONNECTION,
        "user_id": str(rng.randint(10**20, 10**21 - 1)),
        "provider": "google-oauth2",
        "isSocial": True,
        "access_token": "ya29." + _alnum(rng, 60),
        "refresh_token": "1//0" + _alnum(rng, 40),
    })


def _enroll(tenant: AccountsTarget, rng: random.Random, user_id: str,
            kinds: tuple[str, ...]) -> None:
    user = tenant.users[user_id]
    methods = []
    start = rng.uniform(-300, -30)
    for n, kind in enumerate(kinds):
        created = iso(_at(start + n))
        last = iso(_at(rng.uniform(-20, 0)))
        methods.append(_method(rng, kind, user, created, last))
    methods.append(recovery_code_method("dev_" + _alnum(rng, 16), iso(_at(start))))
    tenant.accounts.auth_methods[user_id] = methods
    user["multifactor"] = ["guardian"]


def _method(rng: random.Random, kind: str, user: dict[str, Any], created: str,
            last: str) -> dict[str, Any]:
    device = "dev_" + _alnum(rng, 16)
    doc: dict[str, Any] = {"id": f"{kind}|{device}", "type": kind, "confirmed": True}
    if kind == "totp":
        doc["name"] = "Google Authenticator"
    elif kind == "push":
        doc["name"] = rng.choice(("Pixel 8", "iPhone 15"))
    elif kind == "phone":
        doc.update(name="Work phone",
                   phone_number=mask_phone(f"+1555010{rng.randint(1000, 9999)}"),
                   preferred_authentication_method="sms",
                   authentication_methods=[{"id": f"sms|{device}", "type": "sms"}])
    elif kind == "email":
        doc.update(name="Personal email", email=mask_email(str(user["email"])))
    elif kind == "webauthn-roaming":
        doc.update(name="YubiKey 5C",
                   key_id=_alnum(rng, 43),
                   public_key="pQECAyYgASFYI" + _alnum(rng, 64),
                   relying_party_identifier="admin-gateway-demo.auth0.local",
                   credential_device_type="single_device", credential_backed_up=False,
                   user_agent=USER_AGENTS[0])
    doc.update(created_at=created, enrolled_at=created, last_auth_at=last)
    return doc


def _device(rng: random.Random) -> dict[str, str]:
    agent = rng.choice(USER_AGENTS)
    ip = f"198.51.100.{rng.randint(1, 254)}"
    asn = str(rng.randint(64496, 64511))  # ASNs reserved for documentation
    return {"initial_user_agent": agent, "initial_ip": ip, "initial_asn": asn,
            "last_user_agent": agent, "last_ip": ip, "last_asn": asn}


def _sessions(tenant: AccountsTarget, rng: random.Random, user_id: str, count: int, *,
              bound_token: bool) -> None:
    accounts = tenant.accounts
    factor = next((m["type"] for m in accounts.auth_methods.get(user_id, [])
                   if m["type"] != "recovery-code"), None)
    for n in range(count):
        start = rng.uniform(-10, -1)
        created, last = _at(start), _at(start + rng.uniform(0.01, 0.9))
        methods: list[dict[str, Any]] = [{"name": "pwd", "timestamp": iso(created)}]
        if factor is not None:
            methods.append({"name": "mfa", "timestamp": iso(created), "type": factor})
        device = _device(rng)
        session_id = _alnum(rng, 32)
        session: dict[str, Any] = {
            "id": session_id, "user_id": user_id, "created_at": iso(created),
            "updated_at": iso(last), "authenticated_at": iso(created),
            "idle_expires_at": iso(last + datetime.timedelta(days=3)),
            "expires_at": iso(created + datetime.timedelta(days=30)),
            "last_interacted_at": iso(last), "device": device,
            "clients": [{"client_id": tenant.panel_client_id}],
            "authentication": {"methods": methods},
            "cookie": {"mode": "persistent"},
        }
        accounts.sessions[session_id] = session
        if n == 0 and bound_token:
            _refresh_token(tenant, rng, user_id, created, session_id, device)
    if count > 1:
        # One more, from an app that keeps users signed in without a browser session.
        _refresh_token(tenant, rng, user_id, _at(rng.uniform(-40, -11)), None, _device(rng))


def _refresh_token(tenant: AccountsTarget, rng: random.Random, user_id: str,
                   created: datetime.datetime, session_id: str | None,
                   device: dict[str, str]) -> None:
    rotating = session_id is not None
    token_id = _alnum(rng, 32)
    token: dict[str, Any] = {
        "id": token_id, "user_id": user_id, "created_at": iso(created),
        # Non-rotating tokens of the demo never expire (Auth0 then answers null).
        "idle_expires_at": iso(created + datetime.timedelta(days=15)) if rotating else None,
        "expires_at": iso(created + datetime.timedelta(days=30)) if rotating else None,
        "device": device, "client_id": tenant.panel_client_id, "session_id": session_id,
        "rotating": rotating,
        "resource_servers": [{"audience": tenant.gateway_audience,
                              "scopes": "openid profile email offline_access"}],
        "last_exchanged_at": iso(created + datetime.timedelta(hours=rng.randint(1, 20))),
    }
    tenant.accounts.refresh_tokens[token_id] = token


def _organizations(tenant: AccountsTarget, rng: random.Random) -> None:
    accounts = tenant.accounts
    role_ids = {role.name: role.id for role in tenant.roles.values()}
    for org in tenant.organizations.values():
        members: list[str] = []
        roles: dict[str, list[str]] = {}
        for alias, role in FIXED_MEMBERS.get(org.name, {}).items():
            members.append(tenant.aliases[alias])
            if role is not None:
                roles[tenant.aliases[alias]] = [role_ids[role]]
        for user_id, user in tenant.users.items():
            if user.get("app_metadata", {}).get("org_id") == org.id and user_id not in members:
                members.append(user_id)
                if rng.random() < 0.3:
                    roles[user_id] = [role_ids["Support Reader"]]
        accounts.org_members[org.id] = members
        accounts.org_member_roles[org.id] = roles
        accounts.invitations[org.id] = {}
        _invitation(tenant, rng, org)


def _invitation(tenant: AccountsTarget, rng: random.Random, org: Organization) -> None:
    created = _at(rng.uniform(-3, -1))
    ticket = _alnum(rng, 32)
    members = tenant.accounts.org_members[org.id]
    inviter = tenant.users[members[0]]["name"] if members else "Admin"
    reader = next(role.id for role in tenant.roles.values() if role.name == "Support Reader")
    invitation_id = "uinv_" + _alnum(rng, 16)
    invitation: dict[str, Any] = {
        "id": invitation_id, "organization_id": org.id,
        "inviter": {"name": inviter},
        "invitee": {"email": f"new.hire.{org.name}@example.com"},
        "invitation_url": invitation_url(ticket, org),
        "created_at": iso(created),
        "expires_at": iso(created + datetime.timedelta(seconds=INVITATION_TTL)),
        "client_id": tenant.panel_client_id, "roles": [reader], "ticket_id": ticket,
    }
    tenant.accounts.invitations[org.id][invitation_id] = invitation

