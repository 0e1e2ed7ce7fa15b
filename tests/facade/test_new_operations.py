"""Issue 15's operations end to end over real HTTP: the 30 catalog rows after `get_roles`
and the gateway action `lock_out`, each against the emulator with the shipped policy.

One table (`TABLE`, keyed by operation id) says how to call each operation on a given
user's account; one test function per property walks every row:

- success: carol (User Admin, unrestricted) gets Auth0's status and shape, and the
  emulator's state changed as the write says (the emulator's data is the oracle);
- validation: a bad request is a 400 problem and reaches nothing upstream;
- scope: bob (Support Editor, department "support"; given the operation's permission when
  his role lacks it) acting on carol (engineering) is answered as if carol did not exist
  (or sees only in-scope users, or is refused another organization) and nothing changed;
- escalation: carol acting on herself is refused where the row has a self-action;
- audit: every write leaves one event with the operation, target and status;
- upstream errors: Auth0's 500 is a 502 problem, its 429 beyond the wait budget a 429;
- unlinking: the secondary account an unlink restores is checked under delegated scope.

Speed: a fresh emulator and gateway per test (tests/guards' `gstack`) cost about a second
each, over 200 times here. So one emulator and one gateway serve the module, and before
each test the tenant is restored from a snapshot taken before the first request (the demo
data as a fresh emulator has it), injected faults are cleared and the gateway's budget
and rate-limit buckets in Redis forgotten.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
import redis
import requests

from app import create_app
from app.catalog import BY_ID, CATALOG, LOCK_OUT, Operation
from config.settings import DEFAULT_POLICY_FILE, load_settings
from emulator.server import EmulatorServer
from emulator.tenant import Tenant, TenantSnapshot
from tests.support.environments import gateway_env
from tests.support.redis_helpers import delete_prefix, real_redis_url, unique_prefix
from tests.support.secret_watch import SecretWatch
from tests.support.servers import LiveServer
from tests.support.spec import validate_recorded
from tests.support.stack import Stack, token_for

_FIRST_NEW = [op.operation_id for op in CATALOG].index("get_roles") + 1
# Issue 15's rows: every catalog row after get_roles, and the lock-out action.
NEW_OPERATIONS: tuple[Operation, ...] = (*CATALOG[_FIRST_NEW:], LOCK_OUT)
OPERATIONS: dict[str, Operation] = {op.operation_id: op for op in NEW_OPERATIONS}

API = "https://admin-gateway.example.com/api"
ASSIGNABLE = {"resource_server_identifier": API, "permission_name": "users:read"}
NO_USER = "The user does not exist."
# What the gateway's own Management token minting changes in the tenant's data (never a
# caller's doing).
TOKEN_BOOKKEEPING = ("_minted", "_revoked_jtis")
PROBLEM_JSON = "application/problem+json"
# Auth0 answers a status its spec does not document (go-auth0's recordings; the emulator
# follows them): the documented one, for checking the answer against the spec.
SPEC_STATUS = {"post_invitations": 200}
SCOPED_ROLE = "Support Editor"  # bob's role; its rule: app_metadata.department = support


# -- the shared stack ---------------------------------------------------------------------


@dataclass
class Shared:
    stack: Stack
    pristine: TenantSnapshot
    redis: redis.Redis
    prefix: str

    @cached_property
    def data_names(self) -> tuple[str, ...]:
        """The tenant's data that callers change."""
        return tuple(name for name in self.pristine.data() if name not in TOKEN_BOOKKEEPING)


@pytest.fixture(scope="module")
def shared(secret_watch: SecretWatch) -> Iterator[Shared]:
    """One emulator and one gateway (shipped policy, guardrails on) for the module.

    Auth0's 429s carry `Retry-After: 1` in the upstream-error test; the gateway waits at
    most half a second for one, so every injected 429 is beyond its wait budget."""
    redis_url = real_redis_url()
    prefix = unique_prefix()
    tenant = Tenant.demo()
    secret_watch.watch_tenant(tenant)
    pristine = tenant.snapshot()
    with EmulatorServer(tenant) as emulator:
        settings = load_settings(gateway_env(emulator, redis_url, prefix,
                                             UPSTREAM_429_WAIT_SECONDS="0.5"))
        secret_watch.add_settings(settings)
        gateway = LiveServer(create_app(settings)).start()
        client = redis.Redis.from_url(redis_url)
        try:
            yield Shared(Stack(emulator, gateway, requests.Session()), pristine, client,
                         prefix)
        finally:
            client.close()
            gateway.stop()
            delete_prefix(redis_url, prefix)


@pytest.fixture
def world(shared: Shared) -> World:
    tenant = shared.stack.tenant
    tenant.faults.clear()
    tenant.restore(shared.pristine)
    tenant.reset_counters()
    # The fleet budget (an upstream 429 holds it for a second) and per-caller limits.
    for pattern in ("budget:*", "ratelimit:*"):
        keys = list(shared.redis.scan_iter(match=shared.prefix + pattern, count=500))
        if keys:
            shared.redis.delete(*keys)
    return World(shared, int(shared.redis.xlen(shared.prefix + "audit")))


# -- the tenant, read directly (the oracle) -------------------------------------------------


class World:
    """The shared stack as a test finds it, and named things of the demo tenant."""

    def __init__(self, shared: Shared, audit_start: int) -> None:
        self.shared = shared
        self.stack = shared.stack
        self.tenant: Any = shared.stack.tenant
        self.audit_start = audit_start
        self.data_names = shared.data_names

    def user(self, alias: str) -> str:
        return self.stack.user(alias)

    def org(self, name: str) -> str:
        return str(next(o.id for o in self.tenant.organizations.values() if o.name == name))

    def org_of(self, alias: str) -> str:
        return str(self.tenant.accounts.organizations_of(self.user(alias))[0])

    def role(self, name: str) -> str:
        return str(next(r.id for r in self.tenant.roles.values() if r.name == name))

    def role_of(self, alias: str) -> str:
        return str(self.tenant.user_roles[self.user(alias)][0])

    def sessions(self, alias: str) -> list[str]:
        return [s["id"] for s in self.tenant.accounts.sessions_of(self.user(alias))]

    def refresh_tokens(self, alias: str) -> list[str]:
        return [r["id"] for r in self.tenant.accounts.refresh_tokens_of(self.user(alias))]

    def methods(self, alias: str) -> list[dict[str, Any]]:
        return list(self.tenant.accounts.auth_methods.get(self.user(alias), []))

    def factor(self, alias: str) -> str:
        """The id of the user's first second factor (not the recovery code)."""
        return str(next(m["id"] for m in self.methods(alias) if m["type"] != "recovery-code"))

    def direct(self, alias: str) -> list[tuple[str, str]]:
        return list(self.tenant.accounts.direct_permissions.get(self.user(alias), []))

    def members(self, org: str) -> list[str]:
        return list(self.tenant.accounts.org_members.get(org, []))

    def org_roles(self, org: str, alias: str) -> list[str]:
        return list(self.tenant.accounts.org_member_roles.get(org, {}).get(self.user(alias),
                                                                            []))

    def department(self, user_id: str) -> Any:
        return (self.tenant.users[user_id].get("app_metadata") or {}).get("department")

    def linked(self, alias: str) -> tuple[str, str]:
        """A secondary identity linked into the user (one is linked first if none is)."""
        with self.tenant.lock:
            identities = self.tenant.users[self.user(alias)]["identities"]
            if len(identities) < 2:
                identities.append({
                    "profileData": {"email": f"{alias}.linked@gmail.com", "email_verified": True},
                    "connection": "google-oauth2", "user_id": "109876543210987654321",
                    "provider": "google-oauth2", "isSocial": True})
            return str(identities[1]["provider"]), str(identities[1]["user_id"])

    def state(self) -> bytes:
        """Every piece of tenant data (not the gateway's own token bookkeeping), pickled."""
        with self.tenant.lock:
            return pickle.dumps({name: getattr(self.tenant, name) for name in self.data_names})

    def assert_unchanged(self, before: bytes) -> None:
        after = self.state()
        if after != before:  # the same objects pickle the same; else compare the data
            old, new = pickle.loads(before), pickle.loads(after)  # noqa: S301 - ours
            assert [name for name in self.data_names if old[name] != new[name]] == []

    def writes(self) -> list[Any]:
        return [entry for entry in self.stack.upstream() if entry.method != "GET"]

    def events(self) -> list[dict[str, Any]]:
        """The audit events this test caused."""
        entries: list[Any] = list(self.shared.redis.xrange(self.shared.prefix + "audit") or [])
        return [json.loads(fields[b"event"]) for _, fields in entries[self.audit_start:]]


# -- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    path: str
    json: Any = None  # None: no body
    params: dict[str, str] = field(default_factory=dict)

    def but(self, *, json: Any = None, params: dict[str, str] | None = None) -> Req:
        return Req(self.path, self.json if json is None else json,
                   {**self.params, **(params or {})})


def send(world: World, token: str, op: Operation, req: Req) -> requests.Response:
    kwargs: dict[str, Any] = {"params": req.params}
    if req.json is not None:
        kwargs["json"] = req.json
    return world.stack.session.request(
        op.method, world.stack.gateway.url + req.path, timeout=30,
        headers={"Authorization": f"Bearer {token}"}, **kwargs)


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def _role_permissions(role: str) -> frozenset[str]:
    policy = tomllib.loads(DEFAULT_POLICY_FILE.read_text())
    return frozenset(policy["roles"][role]["permissions"])


def scoped_token(world: World, op: Operation, **claims: Any) -> str:
    """bob's token (roles claim: Support Editor, department support) with the operation's
    permission when his role lacks it, and orgs:scope:all for organization rows (so that
    the department rule is what decides)."""
    extra = [] if op.permission in _role_permissions(SCOPED_ROLE) else [op.permission]
    if op.org_param and "org_id" not in claims:
        extra.append("orgs:scope:all")
    if not extra and not claims:
        return world.stack.token("bob")
    return token_for(world.stack, "bob", permissions=extra,
                     **{world.tenant.roles_claim: [SCOPED_ROLE]}, **claims)


def admin_token(world: World, **claims: Any) -> str:
    """carol's token (User Admin: every permission of issue 15, unrestricted scope)."""
    if not claims:
        return world.stack.token("carol")
    return token_for(world.stack, "carol", **claims)


# -- the table --------------------------------------------------------------------------------

Build = Callable[[World, str], Req]
Check = Callable[[World, Req, Any], None]
# A bad request made from the good one, and a word the problem must name.
Bad = Callable[[World, Req], tuple[Req, str]]


@dataclass(frozen=True)
class NotFound:
    """A scoped caller acting on carol is answered as if the thing did not exist."""

    detail: str = NO_USER


@dataclass(frozen=True)
class Filtered:
    """A list of users: a scoped caller sees exactly the in-scope ones."""

    everyone: Callable[[World], list[str]]


@dataclass(frozen=True)
class OrgNotYours:
    """No user involved: an org-scoped caller (org_id acme) is refused carol's globex."""


Scope = NotFound | Filtered | OrgNotYours


@dataclass(frozen=True)
class Row:
    build: Build  # the request acting on `who`'s account
    status: int  # Auth0's success status
    check: Check  # Auth0's shape, and the emulator's state after the success
    bad: Bad
    who: str = "alice"  # whose account the success acts on
    scope: Scope = NotFound()
    # Names the audit event must hold besides the path's parameters (what was granted).
    audit_names: Callable[[World, Req], list[str]] = lambda world, req: []


def on_user(template: str, body: Callable[[World, str], Any] | None = None) -> Build:
    """`template` with {id} the user's id (and a body built for that user)."""
    return lambda w, who: Req(template.format(id=w.user(who)),
                              body(w, who) if body else None)


def unknown_query(name: str) -> Bad:
    return lambda w, req: (req.but(params={name: "1"}), name)


def query(name: str, value: str) -> Bad:
    return lambda w, req: (req.but(params={name: value}), name)


def unexpected_body(w: World, req: Req) -> tuple[Req, str]:
    return req.but(json={"reason": "tidy up"}), "no request body"


def bad_body(make: Callable[[World, Req], Any], name: str) -> Bad:
    return lambda w, req: (Req(req.path, make(w, req), req.params), name)


def session_of(w: World, who: str) -> Req:
    return Req(f"/api/v2/sessions/{w.sessions(who)[0]}")


def refresh_token_of(w: World, who: str) -> Req:
    return Req(f"/api/v2/refresh-tokens/{w.refresh_tokens(who)[0]}")


def method_of(w: World, who: str) -> Req:
    return Req(f"/api/v2/users/{w.user(who)}/authentication-methods/{w.factor(who)}")


def with_direct_permission(w: World, who: str) -> dict[str, Any]:
    with w.tenant.lock:
        w.tenant.accounts.direct_permissions.setdefault(w.user(who), []).append(
            (API, "users:read"))
    return {"permissions": [ASSIGNABLE]}


def unlink(w: World, who: str) -> Req:
    provider, secondary = w.linked(who)
    return Req(f"/api/v2/users/{w.user(who)}/identities/{provider}/{secondary}")


def in_org(suffix: str, body: Callable[[World, str], Any] | None = None,
           org: Callable[[World, str], str] | None = None) -> Build:
    """A request on the organization `who` belongs to (or `org`): {user} in `suffix` is
    `who`, {invitation} the organization's first invitation."""
    def build(w: World, who: str) -> Req:
        org_id = org(w, who) if org else w.org_of(who)
        path = suffix.format(user=w.user(who), invitation=_invitation(w, org_id))
        return Req(f"/api/v2/organizations/{org_id}{path}", body(w, who) if body else None)
    return build


def _invitation(w: World, org: str) -> str:
    return str(next(iter(w.tenant.accounts.invitations.get(org, {})), ""))


def reader_roles(w: World, who: str) -> dict[str, Any]:
    return {"roles": [w.role("Support Reader")]}


def members(w: World, who: str) -> dict[str, Any]:
    return {"members": [w.user(who)]}


def invite(w: World, who: str) -> dict[str, Any]:
    return {"inviter": {"name": "Carol Chen"}, "invitee": {"email": "sam@example.com"},
            "client_id": w.tenant.panel_client_id, "roles": [w.role("Support Reader")],
            "ttl_sec": 3600}


def path_org(req: Req) -> str:
    return req.path.split("/")[4]


# -- success checks: Auth0's shape and the emulator's state -----------------------------------


def granted(w: World, req: Req, answer: Any) -> None:
    assert answer == {}
    assert (API, "users:read") in w.direct("dave")


def revoked_permission(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert (API, "users:read") not in w.direct("dave")


def listed_sessions(w: World, req: Req, answer: Any) -> None:
    assert [s["id"] for s in answer["sessions"]] == w.sessions("alice")
    for session in answer["sessions"]:
        assert session["user_id"] == w.user("alice")
        assert {"created_at", "expires_at", "device", "clients", "authentication"} <= set(session)


def sessions_gone(w: World, req: Req, answer: Any) -> None:
    assert answer == {}  # Auth0 accepts deletions asynchronously: 202 {}
    assert w.sessions("alice") == []
    assert len(w.refresh_tokens("alice")) == 2  # refresh tokens are another call


def one_session(w: World, req: Req, answer: Any) -> None:
    assert answer["id"] == req.path.rsplit("/", 1)[1]
    assert answer["user_id"] == w.user("alice")
    assert {"device", "authentication", "idle_expires_at"} <= set(answer)


def session_gone(w: World, req: Req, answer: Any) -> None:
    assert answer == {}
    gone = req.path.rsplit("/", 1)[1]
    assert gone not in w.tenant.accounts.sessions
    assert len(w.sessions("alice")) == 1  # alice's other session stays


def listed_tokens(w: World, req: Req, answer: Any) -> None:
    assert [t["id"] for t in answer["tokens"]] == w.refresh_tokens("alice")
    for token in answer["tokens"]:
        assert token["user_id"] == w.user("alice")
        assert {"client_id", "session_id", "rotating", "resource_servers"} <= set(token)


def tokens_gone(w: World, req: Req, answer: Any) -> None:
    assert answer == {}
    assert w.refresh_tokens("alice") == []
    assert len(w.sessions("alice")) == 2  # sessions are another call


def one_token(w: World, req: Req, answer: Any) -> None:
    assert answer["id"] == req.path.rsplit("/", 1)[1]
    assert answer["user_id"] == w.user("alice")
    assert {"client_id", "rotating", "device", "resource_servers"} <= set(answer)


def token_gone(w: World, req: Req, answer: Any) -> None:
    assert answer == {}
    assert req.path.rsplit("/", 1)[1] not in w.tenant.accounts.refresh_tokens
    assert len(w.refresh_tokens("alice")) == 1


def access_revoked(w: World, req: Req, answer: Any) -> None:
    assert answer == {}
    assert w.sessions("alice") == [] and w.refresh_tokens("alice") == []


def enrollments(w: World, req: Req, answer: Any) -> None:
    assert len(answer) == 1  # the first confirmed second factor
    assert (answer[0]["status"], answer[0]["type"], answer[0]["auth_method"]) == \
        ("confirmed", "totp", "authenticator")


def methods(w: World, req: Req, answer: Any) -> None:
    assert [m["id"] for m in answer] == [m["id"] for m in w.methods("bob")]
    assert [m["type"] for m in answer] == ["totp", "recovery-code"]


def one_method(w: World, req: Req, answer: Any) -> None:
    assert answer["id"] == w.factor("bob")
    assert (answer["type"], answer["confirmed"]) == ("totp", True)
    assert {"name", "created_at", "enrolled_at"} <= set(answer)


def method_gone(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    gone = req.path.rsplit("/", 1)[1]
    assert gone not in [m["id"] for m in w.methods("bob")]
    # It was bob's only factor: the recovery code and `multifactor` went with it.
    assert w.methods("bob") == [] and "multifactor" not in w.tenant.users[w.user("bob")]


def all_methods_gone(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.methods("erin") == [] and "multifactor" not in w.tenant.users[w.user("erin")]


def browsers_forgotten(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.user("dave") in w.tenant.accounts.browsers_forgotten_at


def recovery_code(w: World, req: Req, answer: Any) -> None:
    assert set(answer) == {"recovery_code"}
    assert re.fullmatch(r"[A-Z0-9]{24}", answer["recovery_code"])
    seeded = w.shared.pristine.data()["accounts"].auth_methods[w.user("bob")]
    old = next(m["id"] for m in seeded if m["type"] == "recovery-code")
    new = [m["id"] for m in w.methods("bob") if m["type"] == "recovery-code"]
    assert len(new) == 1 and new != [old]  # a new code replaced the old one
    # Returned once: in this answer, never stored by the gateway or the emulator.
    assert answer["recovery_code"] not in json.dumps(w.tenant.snapshot().data(), default=str)
    assert answer["recovery_code"] not in json.dumps(w.events())


def unlinked(w: World, req: Req, answer: Any) -> None:
    provider, secondary = req.path.rsplit("/", 2)[1:]
    # Auth0 answers the primary's remaining identities.
    assert [(i["provider"], i["user_id"]) for i in answer] == \
        [("auth0", w.user("bob").split("|", 1)[1])]
    bob = w.tenant.users[w.user("bob")]
    assert all(i["provider"] != provider for i in bob["identities"])
    restored = w.tenant.users[f"{provider}|{secondary}"]  # the secondary is a user again
    assert restored["identities"][0]["user_id"] == secondary
    assert restored["email"] == "bob.brown@gmail.com"


def role_users(w: World, req: Req, answer: Any) -> None:
    role = req.path.split("/")[4]
    holders = {uid for uid, roles in w.tenant.user_roles.items() if role in roles}
    assert answer["total"] == len(holders)
    assert {u["user_id"] for u in answer["users"]} == holders
    assert all({"user_id", "email", "name"} <= set(u) for u in answer["users"])


def user_orgs(w: World, req: Req, answer: Any) -> None:
    assert answer == [{"id": w.org("acme"), "name": "acme", "display_name": "Acme Corp"}]


def org_members(w: World, req: Req, answer: Any) -> None:
    assert [m["user_id"] for m in answer] == w.members(path_org(req))
    assert all({"user_id", "email", "name"} <= set(m) for m in answer)


def member_added(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.user("alice") in w.members(w.org("initech"))


def member_removed(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.user("bob") not in w.members(w.org("acme"))


def member_roles(w: World, req: Req, answer: Any) -> None:
    assert [(r["id"], r["name"]) for r in answer] == \
        [(w.role("Support Reader"), "Support Reader")]


def member_role_added(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.org_roles(w.org("acme"), "bob") == [w.role("Support Reader")]


def member_role_removed(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert w.org_roles(w.org("acme"), "erin") == []


def invitations(w: World, req: Req, answer: Any) -> None:
    acme = w.org("acme")
    assert [i["id"] for i in answer] == list(w.tenant.accounts.invitations[acme])
    for invitation in answer:
        assert invitation["organization_id"] == acme
        assert {"inviter", "invitee", "invitation_url", "expires_at"} <= set(invitation)


def invited(w: World, req: Req, answer: Any) -> None:
    acme = w.org("acme")
    assert answer["id"].startswith("uinv_") and answer["organization_id"] == acme
    assert answer["invitee"] == {"email": "sam@example.com"}
    assert answer["roles"] == [w.role("Support Reader")]
    assert f"organization={acme}" in answer["invitation_url"]
    assert w.tenant.accounts.invitations[acme][answer["id"]]["invitee"]["email"] == \
        "sam@example.com"


def invitation_revoked(w: World, req: Req, answer: Any) -> None:
    assert answer is None
    assert req.path.rsplit("/", 1)[1] not in w.tenant.accounts.invitations[w.org("acme")]


def locked_out(w: World, req: Req, answer: Any) -> None:
    assert answer["user_id"] == w.user("alice") and answer["complete"] is True
    assert [(s["step"], s["outcome"]) for s in answer["steps"]] == [
        ("block", "done"), ("revoke_access", "done")]
    assert w.tenant.users[w.user("alice")]["blocked"] is True
    assert w.sessions("alice") == [] and w.refresh_tokens("alice") == []


def _permission_name(w: World, req: Req) -> list[str]:
    return ["users:read"]


TABLE: dict[str, Row] = {
    # -- direct permissions -------------------------------------------------------------
    "post_permissions": Row(
        on_user("/api/v2/users/{id}/permissions", lambda w, who: {"permissions": [ASSIGNABLE]}),
        201, granted, bad_body(lambda w, req: {"permissions": "users:read"}, "permissions"),
        who="dave", audit_names=_permission_name),
    "delete_permissions": Row(
        on_user("/api/v2/users/{id}/permissions", with_direct_permission),
        204, revoked_permission,
        bad_body(lambda w, req: {"permissions": [ASSIGNABLE], "reason": "x"}, "reason"),
        who="dave", audit_names=_permission_name),
    # -- sessions and refresh tokens ------------------------------------------------------
    "get_sessions_for_user": Row(on_user("/api/v2/users/{id}/sessions"), 200, listed_sessions,
                                 query("take", "ten")),
    "delete_sessions_for_user": Row(on_user("/api/v2/users/{id}/sessions"), 202, sessions_gone,
                                    unexpected_body),
    "get_session": Row(session_of, 200, one_session, unknown_query("expand"),
                       scope=NotFound("The session does not exist.")),
    "delete_session": Row(session_of, 202, session_gone, unexpected_body,
                          scope=NotFound("The session does not exist.")),
    "get_refresh_tokens_for_user": Row(on_user("/api/v2/users/{id}/refresh-tokens"), 200,
                                       listed_tokens, query("include_totals", "yes")),
    "delete_refresh_tokens_for_user": Row(on_user("/api/v2/users/{id}/refresh-tokens"), 202,
                                          tokens_gone, unknown_query("force")),
    "get_refresh_token": Row(refresh_token_of, 200, one_token, unknown_query("fields"),
                             scope=NotFound("The refresh token does not exist.")),
    "delete_refresh_token": Row(refresh_token_of, 202, token_gone, unexpected_body,
                                scope=NotFound("The refresh token does not exist.")),
    "user_revoke_access": Row(
        on_user("/api/v2/users/{id}/revoke-access",
                lambda w, who: {"preserve_refresh_tokens": False}),
        202, access_revoked,
        bad_body(lambda w, req: {"preserve_refresh_tokens": "false"},
                 "preserve_refresh_tokens")),
    # -- MFA detail -----------------------------------------------------------------------
    "get_enrollments": Row(on_user("/api/v2/users/{id}/enrollments"), 200, enrollments,
                           unknown_query("type"), who="bob"),
    "get_authentication-methods": Row(on_user("/api/v2/users/{id}/authentication-methods"),
                                      200, methods, query("per_page", "1.5"), who="bob"),
    "get_authentication-methods_by_authentication_method_id": Row(
        method_of, 200, one_method, unknown_query("include_secrets"), who="bob"),
    "delete_authentication-methods_by_authentication_method_id": Row(
        method_of, 204, method_gone, unexpected_body, who="bob"),
    "delete_authentication-methods": Row(
        on_user("/api/v2/users/{id}/authentication-methods"), 204, all_methods_gone,
        unknown_query("type"), who="erin"),
    "post_invalidate-remember-browser": Row(
        on_user("/api/v2/users/{id}/multifactor/actions/invalidate-remember-browser"), 204,
        browsers_forgotten, unexpected_body, who="dave"),
    "post_recovery-code-regeneration": Row(
        on_user("/api/v2/users/{id}/recovery-code-regeneration"), 200, recovery_code,
        unexpected_body, who="bob"),
    # -- linked identities ----------------------------------------------------------------
    "delete_user_identity_by_user_id": Row(unlink, 200, unlinked, unexpected_body, who="bob"),
    # -- users by role --------------------------------------------------------------------
    "get_role_user": Row(
        lambda w, who: Req(f"/api/v2/roles/{w.role_of(who)}/users",
                           params={"per_page": "100", "include_totals": "true"}),
        200, role_users, query("page", "first"),
        scope=Filtered(lambda w: [uid for uid, roles in w.tenant.user_roles.items()
                                  if w.role_of("carol") in roles])),
    # -- organizations --------------------------------------------------------------------
    "get_user_organizations": Row(on_user("/api/v2/users/{id}/organizations"), 200, user_orgs,
                                  unknown_query("q"), who="bob"),
    "get_organization_members": Row(
        lambda w, who: Req(f"/api/v2/organizations/{w.org_of(who)}/members",
                           params={"per_page": "100"}),
        200, org_members, query("include_fields", "maybe"), who="erin",
        scope=Filtered(lambda w: w.members(w.org_of("carol")))),
    "post_members": Row(
        in_org("/members", members, org=lambda w, who: w.org("initech")), 204, member_added,
        bad_body(lambda w, req: {"users": [w.user("alice")]}, "members"),
        scope=NotFound("One or more of these users do not exist.")),
    "delete_members": Row(
        in_org("/members", members), 204, member_removed,
        bad_body(lambda w, req: {"members": w.user("bob")}, "members"), who="bob",
        scope=NotFound("One or more of these users do not exist.")),
    "get_organization_member_roles": Row(in_org("/members/{user}/roles"), 200, member_roles,
                                         query("page", "x"), who="erin"),
    "post_organization_member_roles": Row(
        in_org("/members/{user}/roles", reader_roles), 204, member_role_added,
        bad_body(lambda w, req: {"roles": ["Support Reader"]}, "roles"), who="bob"),
    "delete_organization_member_roles": Row(
        in_org("/members/{user}/roles", reader_roles), 204, member_role_removed,
        bad_body(lambda w, req: {"roles": [7]}, "roles"), who="erin"),
    "get_invitations": Row(in_org("/invitations"), 200, invitations,
                           query("include_totals", "1"), who="erin", scope=OrgNotYours()),
    "post_invitations": Row(
        # Auth0 answers 201 (go-auth0's recordings; the emulator follows them), though
        # its spec documents 200.
        in_org("/invitations", invite), 201, invited,
        bad_body(lambda w, req: {k: v for k, v in invite(w, "erin").items()
                                 if k != "client_id"}, "client_id"),
        who="erin", scope=OrgNotYours()),
    "delete_invitations_by_invitation_id": Row(
        in_org("/invitations/{invitation}"), 204, invitation_revoked, unknown_query("cascade"),
        who="erin", scope=OrgNotYours()),
    # -- the gateway's lock-out action ------------------------------------------------------
    "lock_out": Row(on_user("/gateway/users/{id}/lock-out"), 200, locked_out, unexpected_body),
}


def rows(select: Callable[[Operation], bool] = lambda op: True,
         marks: dict[str, str] | None = None) -> list[Any]:
    """The table's rows as pytest parameters (op, row), `marks`: strict xfails by id."""
    out = []
    for op in NEW_OPERATIONS:
        if not select(op):
            continue
        reason = (marks or {}).get(op.operation_id)
        out.append(pytest.param(
            op, TABLE[op.operation_id], id=op.operation_id,
            marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)]
            if reason else []))
    return out


def test_the_table_covers_exactly_issue_15s_operations() -> None:
    assert len(CATALOG) - _FIRST_NEW == 30
    assert set(TABLE) == set(OPERATIONS)


# -- 1. success -------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "row"), rows())
def test_success_has_auth0s_status_shape_and_effect(world: World, op: Operation,
                                                    row: Row) -> None:
    req = row.build(world, row.who)
    response = send(world, admin_token(world), op, req)
    assert response.status_code == row.status, response.text
    answer = response.json() if response.content else None
    if op.prefix == "/api/v2":
        # The operation reached Auth0 exactly once, as Auth0's contract says, and its
        # answer came back unchanged.
        mine = [e for e in world.stack.upstream()
                if (e.method, e.route) == (op.method, "/api/v2" + op.path)]
        assert len(mine) == 1, [(e.method, e.raw_path) for e in world.stack.upstream()]
        assert mine[0].status == row.status
        assert mine[0].response_json == answer or (answer is None and not mine[0].response_json)
        # The request Auth0 got and its answer, against Auth0's spec. Where Auth0 answers
        # a status its spec does not list (an invitation: 201, documented 200), the body
        # is held to the documented status's schema.
        documented = SPEC_STATUS.get(op.operation_id, row.status)
        validate_recorded(dataclasses.replace(mine[0], status=documented))
    row.check(world, req, answer)


# -- 2. validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "row"), rows())
def test_a_bad_request_is_a_400_problem_that_reaches_nobody(world: World, op: Operation,
                                                            row: Row) -> None:
    good = row.build(world, row.who)
    bad, named = row.bad(world, good)
    before = world.state()
    found = problem(send(world, admin_token(world), op, bad), 400)
    assert found["type"].endswith("/invalid-request")
    assert named in found["detail"] or named in json.dumps(found.get("errors", {})), found
    assert world.stack.upstream() == []
    world.assert_unchanged(before)


# -- 3. delegated scope -----------------------------------------------------------------------


@pytest.mark.parametrize(("op", "row"), rows())
def test_a_scoped_caller_cannot_reach_a_user_outside_its_scope(world: World, op: Operation,
                                                               row: Row) -> None:
    req = row.build(world, "carol")  # carol: engineering, outside bob's support
    before = world.state()
    expected = row.scope
    if isinstance(expected, OrgNotYours):
        token = scoped_token(world, op, org_id=world.org("acme"))
        assert path_org(req) == world.org("globex")
        found = problem(send(world, token, op, req), 403)
        assert found["type"].endswith("/org-not-yours")
    elif isinstance(expected, Filtered):
        response = send(world, scoped_token(world, op), op, req)
        assert response.status_code == 200, response.text
        answer = response.json()
        listed = answer["users"] if isinstance(answer, dict) else answer
        everyone = expected.everyone(world)
        inside = [uid for uid in everyone if world.department(uid) == "support"]
        assert world.user("carol") in everyone and world.user("carol") not in inside
        assert inside  # the seed puts support users in carol's list too: not vacuous
        assert sorted(u["user_id"] for u in listed) == sorted(inside)
        if isinstance(answer, dict):
            assert answer["total"] == len(inside)  # no count of hidden users
    else:
        found = problem(send(world, scoped_token(world, op), op, req), 404)
        assert found["detail"] == expected.detail
    assert world.writes() == []
    world.assert_unchanged(before)


# -- 4. escalation: never on one's own account ------------------------------------------------


def _self_action(op: Operation) -> bool:
    return op.self_action is not None


@pytest.mark.parametrize(("op", "row"), rows(_self_action))
def test_acting_on_ones_own_account_is_refused(world: World, op: Operation, row: Row) -> None:
    req = row.build(world, "carol")
    before = world.state()
    found = problem(send(world, admin_token(world), op, req), 403)
    assert found["type"].endswith("/self-grant" if op.grants else "/self-action")
    assert op.self_action in found["detail"]
    assert world.writes() == []
    world.assert_unchanged(before)


def test_every_self_action_row_is_covered() -> None:
    covered = {p.values[0].operation_id for p in rows(_self_action)}
    assert covered == {op.operation_id for op in NEW_OPERATIONS if op.self_action}
    assert len(covered) == 11  # ten catalog rows and the lock-out


# -- 5. audit ---------------------------------------------------------------------------------


def _is_write(op: Operation) -> bool:
    return op.is_write


def _event_of(world: World, op: Operation, response: requests.Response) -> dict[str, Any]:
    mine = [e for e in world.events() if e["operation"] == op.operation_id]
    assert len(mine) == 1, mine  # one event for the call, whatever it took
    assert mine[0]["request_id"] == response.headers["X-Request-ID"]
    return mine[0]


@pytest.mark.parametrize(("op", "row"), rows(_is_write))
def test_every_write_leaves_one_audit_event(world: World, op: Operation, row: Row) -> None:
    req = row.build(world, row.who)
    response = send(world, admin_token(world), op, req)
    assert response.status_code == row.status, response.text
    event = _event_of(world, op, response)
    # The user acted on: the path's (or, for a session or refresh token, its owner).
    target = world.user(row.who) if op.target_user or op.owner_lookup else None
    assert (event["operation"], event["method"], event["target"]) == \
        (op.operation_id, op.method, target)
    assert (event["status"], event["outcome"]) == (row.status, "allowed")
    assert event["actor"]["sub"] == world.user("carol")


def _path_values(op: Operation, path: str) -> list[str]:
    pattern = re.sub(r"\\{\w+\\}", "([^/]+)", re.escape(op.gateway_path))
    found = re.fullmatch(pattern, path)
    assert found is not None, (op.gateway_path, path)
    return list(found.groups())


@pytest.mark.parametrize(("op", "row"), rows(_is_write))
def test_the_audit_event_names_what_the_write_acted_on(world: World, op: Operation,
                                                       row: Row) -> None:
    """Who did what to whom: every resource the path names (the organization, the session,
    the identity, ...) and what a grant granted can be read from the event."""
    req = row.build(world, row.who)
    response = send(world, admin_token(world), op, req)
    assert response.status_code == row.status, response.text
    recorded = json.dumps(_event_of(world, op, response))
    missing = [name for name in [*_path_values(op, req.path), *row.audit_names(world, req)]
               if json.dumps(name)[1:-1] not in recorded]
    assert missing == []


# -- 6. Auth0's failures ----------------------------------------------------------------------


def _fault_path(op: Operation, req: Req) -> str:
    """Where the operation's own Management call goes (the lock-out's first step: the
    block, PATCH /users/{id})."""
    if op is LOCK_OUT:
        return "/api/v2/users/" + _path_values(op, req.path)[0]
    return req.path


@pytest.mark.parametrize("status", [500, 429])
@pytest.mark.parametrize(("op", "row"), rows())
def test_auth0s_failure_is_a_problem(world: World, op: Operation, row: Row,
                                     status: int) -> None:
    """Carol holds users:manage_protected here, so that no protection read comes first:
    the fault hits the operation's own call (for one session or refresh token, the read
    that finds its owner, at the same path)."""
    req = row.build(world, row.who)
    token = admin_token(world, permissions=["users:manage_protected"])
    world.tenant.faults.send_retry_after(True)  # 429s say "retry in 1 s": beyond 0.5 s
    world.tenant.faults.fail_next(1, status, _fault_path(op, req))
    response = send(world, token, op, req)
    assert [e.status for e in world.stack.upstream()].count(status) == 1  # it did hit
    if op is LOCK_OUT:  # each step reported; the block failed, so the action did
        found = problem(response, 502)
        assert found["type"].endswith("/lock-out-incomplete")
        assert found["steps"][0]["step"] == "block"
        assert found["steps"][0]["outcome"] == "failed"
        assert found["steps"][0]["status"] == (429 if status == 429 else 502)
    elif status == 500:
        found = problem(response, 502)
        assert found["type"].endswith("/upstream-error")
    else:
        found = problem(response, 429)
        assert found["type"].endswith("/upstream-rate-limited")
        assert int(response.headers["Retry-After"]) >= 1
        assert "rate limit" in found["detail"]


# -- 7. unlinking: the secondary account is checked too ---------------------------------------


UNLINK = BY_ID["delete_user_identity_by_user_id"]


def _unlinker(world: World) -> str:
    return scoped_token(world, UNLINK)


def _standalone(world: World, provider: str, secondary: str, department: str | None) -> str:
    """The secondary identity also exists as a user of its own (as after an unlink made
    elsewhere, or an import); None: without a department, as an unlink leaves it."""
    user_id = f"{provider}|{secondary}"
    metadata = {} if department is None else {"department": department}
    with world.tenant.lock:
        world.tenant.users[user_id] = {
            "user_id": user_id, "email": "dave.diaz@gmail.com", "name": "Dave Diaz",
            "identities": [{"connection": "google-oauth2", "user_id": secondary,
                            "provider": provider, "isSocial": True}],
            "app_metadata": metadata, "user_metadata": {},
            "created_at": "2024-01-01T00:00:00.000Z", "updated_at": "2024-01-01T00:00:00.000Z"}
        world.tenant.logs[user_id] = []
    return user_id


def test_a_scoped_caller_unlinks_an_in_scope_users_identity(world: World) -> None:
    req = unlink(world, "dave")  # dave: support, like bob
    provider, secondary = req.path.rsplit("/", 2)[1:]
    response = send(world, _unlinker(world), UNLINK, req)
    assert response.status_code == 200, response.text
    assert [i["provider"] for i in response.json()] == ["auth0"]
    assert len(world.tenant.users[world.user("dave")]["identities"]) == 1
    assert f"{provider}|{secondary}" in world.tenant.users  # restored as a user


@pytest.mark.parametrize("department", ["engineering", None])
def test_unlinking_is_refused_when_the_secondary_user_is_outside_the_scope(
        world: World, department: str | None) -> None:
    req = unlink(world, "dave")
    provider, secondary = req.path.rsplit("/", 2)[1:]
    _standalone(world, provider, secondary, department)
    before = world.state()
    found = problem(send(world, _unlinker(world), UNLINK, req), 404)
    # The same answer as for an identity that is not linked at all: an unlink never tells
    # a scoped caller whether some user id exists.
    unlinked = Req(req.path.rsplit("/", 1)[0] + "/" + "9" * 21, None)
    assert found["detail"] == problem(send(world, _unlinker(world), UNLINK, unlinked),
                                      404)["detail"] == "The identity does not exist."
    assert world.writes() == []
    world.assert_unchanged(before)
    assert len(world.tenant.users[world.user("dave")]["identities"]) == 2


def test_unlinking_is_allowed_when_the_secondary_user_is_inside_the_scope(world: World) -> None:
    req = unlink(world, "dave")
    provider, secondary = req.path.rsplit("/", 2)[1:]
    _standalone(world, provider, secondary, "support")
    response = send(world, _unlinker(world), UNLINK, req)
    assert response.status_code == 200, response.text
    assert len(world.tenant.users[world.user("dave")]["identities"]) == 1


# -- Auth0's default revoke-access request ----------------------------------------------


@pytest.mark.parametrize("payload", [{}, None], ids=["empty-object", "no-body"])
def test_revoke_access_accepts_auth0s_default_request(world: World, payload: Any) -> None:
    op = BY_ID["user_revoke_access"]
    req = Req(f"/api/v2/users/{world.user('alice')}/revoke-access", payload)
    kwargs: dict[str, Any] = {} if payload is None else {"json": payload}
    response = world.stack.session.request(
        op.method, world.stack.gateway.url + req.path, timeout=30,
        headers={"Authorization": f"Bearer {admin_token(world)}"}, **kwargs)
    assert response.status_code == 202, response.text
    assert world.sessions("alice") == [] and world.refresh_tokens("alice") == []
