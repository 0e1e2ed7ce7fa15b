"""The successes and documented errors that generated input rarely reaches, sent once
each and held to the same checks as the fuzzing (tests/test_api_fuzz.py,
tests/support/contract.py).

Random bodies rarely satisfy every permission and rule at once, so the fuzzer sees few
successes of the writes: each operation's success is sent here as the panel would send
it, and its 2xx body must match Auth0's schema. Each runs against a fresh tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from schemathesis.checks import ignored_auth

from tests.support.contract import CHECKS, DOCUMENT, ROLES, load_contract
from tests.support.servers import LiveServer

schema = load_contract()

# label: (role, method, path template, expected status, case arguments for the tenant)
Arguments = Callable[[Any], dict[str, Any]]


def _user(alias: str) -> Arguments:
    return lambda tenant: {"path_parameters": {"id": tenant.user_id(alias)}}


def _role_change(tenant: Any) -> dict[str, Any]:
    reader = next(rid for rid, role in tenant.roles.items() if role.name == "Support Reader")
    return {"path_parameters": {"id": tenant.user_id("dave")}, "body": {"roles": [reader]}}


def _someone(tenant: Any) -> dict[str, Any]:
    # A generated user (no alias), in the admin's scope (users:scope:all).
    plain = sorted(set(tenant.users) - set(tenant.aliases.values()))
    return {"path_parameters": {"id": plain[0]}}


SUCCESSES: dict[str, tuple[str, str, str, int, Arguments]] = {
    "search": ("reader", "GET", "/api/v2/users", 200, lambda t: {"query": {
        "q": "app_metadata.department:support", "per_page": 5, "include_totals": "true"}}),
    "list": ("reader", "GET", "/api/v2/users", 200, lambda t: {"query": {"per_page": 3}}),
    "read": ("reader", "GET", "/api/v2/users/{id}", 200, _user("dave")),
    "by-email": ("reader", "GET", "/api/v2/users-by-email", 200,
                 lambda t: {"query": {"email": "dave@example.com"}}),
    "roles-of": ("reader", "GET", "/api/v2/users/{id}/roles", 200, _user("alice")),
    "permissions": ("reader", "GET", "/api/v2/users/{id}/permissions", 200, _user("alice")),
    "logs": ("reader", "GET", "/api/v2/users/{id}/logs", 200, _user("dave")),
    "blocks": ("reader", "GET", "/api/v2/user-blocks/{id}", 200, _user("dave")),
    "roles": ("reader", "GET", "/api/v2/roles", 200, lambda t: {}),
    "me": ("reader", "GET", "/gateway/me", 200, lambda t: {}),
    "health": ("reader", "GET", "/healthz", 200, lambda t: {}),
    "rename": ("editor", "PATCH", "/api/v2/users/{id}", 200,
               lambda t: {**_user("dave")(t), "body": {"name": "Dave Fuzz"}}),
    "unblock": ("editor", "DELETE", "/api/v2/user-blocks/{id}", 204, _user("dave")),
    "password-ticket": ("editor", "POST", "/api/v2/tickets/password-change", 201,
                        lambda t: {"body": {"user_id": t.user_id("dave")}}),
    "verification-email": ("editor", "POST", "/api/v2/jobs/verification-email", 201,
                           lambda t: {"body": {"user_id": t.user_id("dave")}}),
    "create": ("admin", "POST", "/api/v2/users", 201, lambda t: {"body": {
        "connection": "Username-Password-Authentication", "email": "fuzz-new@example.com",
        "password": "correct horse battery staple 42!", "name": "Fuzz New",
        "app_metadata": {"department": "support"}}}),
    "assign-role": ("admin", "POST", "/api/v2/users/{id}/roles", 204, _role_change),
    "remove-role": ("admin", "DELETE", "/api/v2/users/{id}/roles", 204, _role_change),
    "reset-mfa": ("admin", "DELETE", "/api/v2/users/{id}/authenticators", 204, _user("dave")),
    "delete": ("admin", "DELETE", "/api/v2/users/{id}", 204, _someone),
    "audit": ("admin", "GET", "/gateway/audit", 200, lambda t: {"query": {"limit": 5}}),
}


def test_every_documented_operation_has_a_success_case() -> None:
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items()
                  for method in item}
    covered = {(method, path) for _, method, path, _, _ in SUCCESSES.values()}
    assert documented == covered, "a documented operation needs its case in SUCCESSES"


@pytest.mark.parametrize("label", sorted(SUCCESSES))
def test_successes_answer_as_documented(label: str, fresh_emulator: Any,
                                        make_gateway: Callable[..., LiveServer]) -> None:
    role, method, path, status, arguments = SUCCESSES[label]
    gateway = make_gateway(fresh_emulator)
    token = fresh_emulator.tenant.issue_user_token(ROLES[role], expires_in=600)
    case = schema[path][method].Case(**arguments(fresh_emulator.tenant))
    response = case.call_and_validate(base_url=gateway.url,
                                      headers={"Authorization": f"Bearer {token}"},
                                      checks=CHECKS, timeout=30)
    assert response.status_code == status, response.text


# Documented errors that generated input rarely or never provokes: the document offers
# only JSON bodies (so no 415), no body near MAX_BODY_BYTES (so no 413), and random emails
# never collide (so no 409). Each is sent once, as the admin, and held to the same checks.
FORM = "application/x-www-form-urlencoded"
OVERSIZED = b'{"name": "' + b"x" * 70_000 + b'"}'  # MAX_BODY_BYTES is 65536 by default
EXISTING = (b'{"connection": "Username-Password-Authentication", "email": "dave@example.com", '
            b'"password": "correct horse battery staple 42!"}')
REFUSALS = [
    *(pytest.param(method.upper(), path, 415, b"name=x", FORM, id=f"{method.upper()} {path} form")
      for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
      if "requestBody" in operation),
    *(pytest.param(method.upper(), path, 413, OVERSIZED, "application/json",
                   id=f"{method.upper()} {path} oversized")
      for path, item in DOCUMENT["paths"].items() for method, operation in item.items()
      if "requestBody" in operation),
    pytest.param("POST", "/api/v2/users", 409, EXISTING, "application/json",
                 id="POST /api/v2/users existing email"),
]


@pytest.mark.parametrize(("method", "path", "status", "body", "content_type"), REFUSALS)
def test_refusals_answer_as_documented(method: str, path: str, status: int, body: bytes,
                                       content_type: str, fresh_emulator: Any,
                                       make_gateway: Callable[..., LiveServer]) -> None:
    gateway = make_gateway(fresh_emulator)
    tenant = fresh_emulator.tenant
    token = tenant.issue_user_token("carol", expires_in=600)
    case = schema[path][method].Case(
        path_parameters={"id": tenant.user_id("dave")} if "{id}" in path else {})
    response = requests.request(method, gateway.url + case.formatted_path, data=body,
                                headers={"Authorization": f"Bearer {token}",
                                         "Content-Type": content_type}, timeout=30)
    assert response.status_code == status, response.text
    case.validate_response(response, checks=[check for check in CHECKS
                                             if check is not ignored_auth])
