"""Delegated scope: which users a caller may see and change, declared in the policy.

Like the Delegated Administration Extension's filter and access hooks, but as
data in `config/policy.toml`:

    [scope]
    unrestricted_permission = "users:scope:all"   # holders see every user

    [[scope.rules]]                 # helpdesk roles: own department only
    roles = ["Support Reader", "Support Editor"]
    user_field = "app_metadata.department"
    equals = "department"           # the caller's attribute (department | org_id)

    [[scope.rules]]                 # callers from an Organization: its members only
    when_present = true
    user_field = "app_metadata.org_id"
    equals = "org_id"

Every rule that applies to a caller must hold (AND). A rule that applies but
whose attribute the caller's token lacks denies everything: a missing claim
must never widen what a caller sees.

- GET /users: the caller's `q` is checked (app/guards/lucene.py) and the rule
  clauses are ANDed onto it; results are checked again (defence in depth).
- GET /users-by-email: out-of-scope users are dropped from the answer.
- Every operation on one user (the catalog's `target_user`) first reads the
  target through the read tier and answers Auth0's own 404 for users outside
  scope, so a caller cannot tell "outside my scope" from "does not exist".
- Writes may not move a user out of scope (PATCH of a rule's app_metadata key)
  nor create one outside it (POST /users).

Only `app_metadata` keys may scope: `user_metadata` is writable by users
themselves, so a user could move themselves into anyone's scope.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..api.pipeline import Call
from ..auth import register_section
from ..auth.policy import Locator
from ..auth.principal import Principal
from ..catalog import PERMISSIONS
from ..errors import Problem
from ..management.tiers import choose_tier
from ..observability import redact
from ..state import settings
from . import lucene
from .context import management_read, policy_section

log = logging.getLogger("admin_gateway.guards")

SECTION = "scope"
DEFAULT_UNRESTRICTED = "users:scope:all"
ATTRIBUTES = ("department", "org_id")
SCOPE_ROOT = "app_metadata"
_USER_FIELD_RE = re.compile(r"^app_metadata(\.[A-Za-z0-9_]+)+\Z")
SEARCH = "get_users"
BY_EMAIL = "get_users-by-email"
CREATE = "post_users"
GET_USER = "get_users_by_id"


@dataclass(frozen=True)
class Rule:
    user_field: str
    equals: str
    roles: frozenset[str] = frozenset()
    when_present: bool = False

    def applies_to(self, principal: Principal) -> bool:
        if self.when_present:
            return _attribute(principal, self.equals) is not None
        return bool(self.roles & set(principal.roles))


@dataclass(frozen=True)
class ScopeConfig:
    unrestricted_permission: str = DEFAULT_UNRESTRICTED
    rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Restriction:
    """What a caller may see: every clause must hold; `missing` attributes deny all."""

    clauses: tuple[tuple[str, str], ...]
    missing: tuple[str, ...]

    def admits(self, user: Any) -> bool:
        return isinstance(user, dict) and all(
            _field_value(user, field) == value for field, value in self.clauses)


def _attribute(principal: Principal, name: str) -> str | None:
    value = getattr(principal, name, None)
    return value if isinstance(value, str) and value else None


def _field_value(user: dict[str, Any], dotted: str) -> Any:
    value: Any = user
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# -- the policy section ------------------------------------------------------------


def _parse_rule(index: int, raw: Any, locate: Locator, problems: list[str]) -> Rule | None:
    where = locate.where(section=(SECTION,), key="user_field")
    if not isinstance(raw, dict):
        problems.append(f"{where}: [[scope.rules]] #{index + 1} must be a table")
        return None
    unknown = set(raw) - {"roles", "when_present", "user_field", "equals"}
    if unknown:
        problems.append(f"{where}: [[scope.rules]] #{index + 1}: unknown key(s) "
                        f"{', '.join(sorted(unknown))}; allowed: roles, when_present, "
                        f"user_field, equals")
    field = raw.get("user_field")
    if not isinstance(field, str) or not _USER_FIELD_RE.match(field):
        problems.append(f"{where}: [[scope.rules]] #{index + 1}: user_field must be an "
                        f"app_metadata key such as \"app_metadata.department\" (user_metadata "
                        f"is writable by users themselves)")
        return None
    equals = raw.get("equals")
    if equals not in ATTRIBUTES:
        problems.append(f"{locate.where(section=(SECTION,), key='equals')}: [[scope.rules]] "
                        f"#{index + 1}: equals must be one of {', '.join(ATTRIBUTES)}")
        return None
    roles = raw.get("roles")
    when_present = raw.get("when_present", False)
    if not isinstance(when_present, bool):
        problems.append(f"{where}: [[scope.rules]] #{index + 1}: when_present must be true "
                        f"or false")
        return None
    if roles is not None and (not isinstance(roles, list) or not roles
                              or not all(isinstance(r, str) and r for r in roles)):
        problems.append(f"{where}: [[scope.rules]] #{index + 1}: roles must be a non-empty "
                        f"list of role names")
        return None
    if (roles is None) == (not when_present):
        problems.append(f"{where}: [[scope.rules]] #{index + 1}: give either roles = [...] or "
                        f"when_present = true (who the rule applies to)")
        return None
    return Rule(field, str(equals), frozenset(roles or ()), when_present)


def parse_section(raw: Any, locate: Locator, problems: list[str]) -> ScopeConfig:
    if not isinstance(raw, dict):
        problems.append(f"{locate.where(key=SECTION)}: [scope] must be a table")
        return ScopeConfig()
    unknown = set(raw) - {"unrestricted_permission", "rules"}
    if unknown:
        problems.append(f"{locate.where(section=(SECTION,))}: [scope]: unknown key(s) "
                        f"{', '.join(sorted(unknown))}; allowed: unrestricted_permission, rules")
    permission = raw.get("unrestricted_permission", DEFAULT_UNRESTRICTED)
    if permission not in PERMISSIONS:
        problems.append(f"{locate.where(section=(SECTION,), key='unrestricted_permission')}: "
                        f"[scope] unrestricted_permission {permission!r} is not a gateway "
                        f"permission")
        permission = DEFAULT_UNRESTRICTED
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list):
        problems.append(f"{locate.where(section=(SECTION,))}: scope.rules must be an array of "
                        f"tables ([[scope.rules]])")
        rules_raw = []
    rules = [_parse_rule(i, r, locate, problems) for i, r in enumerate(rules_raw)]
    return ScopeConfig(str(permission), tuple(r for r in rules if r is not None))


register_section(SECTION, parse_section)


def config() -> ScopeConfig:
    found = policy_section(SECTION, ScopeConfig())
    assert isinstance(found, ScopeConfig)
    return found


def restriction_for(principal: Principal, scope: ScopeConfig | None = None) -> Restriction | None:
    """None when the caller is unrestricted (no rule applies, or the override permission)."""
    scope = scope or config()
    if principal.has(scope.unrestricted_permission):
        return None
    applicable = [rule for rule in scope.rules if rule.applies_to(principal)]
    if not applicable:
        return None
    clauses, missing = [], []
    for rule in applicable:
        value = _attribute(principal, rule.equals)
        if value is None:
            missing.append(rule.equals)
        else:
            clauses.append((rule.user_field, value))
    return Restriction(tuple(dict.fromkeys(clauses)), tuple(dict.fromkeys(missing)))


# -- the guard ----------------------------------------------------------------------


def user_not_found() -> Problem:
    """Exactly what the facade answers when Auth0 says the user does not exist."""
    return Problem(404, "The user does not exist.", slug="upstream-404",
                   extra={"auth0_error_code": "inexistent_user"})


def target_user_id(call: Call) -> str | None:
    name = call.operation.target_user
    if name is None:
        return None
    if name in call.request.path:
        return call.request.path[name]
    body = call.request.body or {}
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _refuse_query(reason: str) -> Problem:
    return Problem(400, f"The search q is refused: {reason}.", title="Invalid request",
                   slug="query-refused", extra={"errors": {"q": [reason]}})


def check_search(call: Call) -> None:
    """Every caller's q is checked: hidden fields must not become a search oracle."""
    q = call.request.query.get("q")
    if isinstance(q, str) and q.strip():
        try:
            lucene.check_query(q)
        except lucene.QueryRefused as exc:
            raise _refuse_query(str(exc)) from None


def _ensure_scope_field(call: Call) -> None:
    """Make sure answers carry app_metadata so that they can be checked; remember to
    remove it again when the caller did not ask for it."""
    query = call.request.query
    requested = query.get("fields")
    if requested is None:
        return
    names = [n.strip() for n in str(requested).split(",") if n.strip()]
    include = query.get("include_fields", True) is not False
    if include and SCOPE_ROOT not in names:
        query["fields"] = ",".join([*names, SCOPE_ROOT])
        call.notes["scope_strip_field"] = True
    elif not include and SCOPE_ROOT in names:
        remaining = [n for n in names if n != SCOPE_ROOT]
        if remaining:
            query["fields"] = ",".join(remaining)
        else:
            query.pop("fields")
            query.pop("include_fields", None)
        call.notes["scope_strip_field"] = True


def _check_target(call: Call, restriction: Restriction) -> None:
    target = target_user_id(call)
    if target is None:
        return
    reading_the_user = call.operation.operation_id == GET_USER
    if reading_the_user:
        # The check needs the very user the caller asked for: fetch it once, with the
        # caller's own fields (plus app_metadata), and let it be the answer.
        _ensure_scope_field(call)
        query = call.request.upstream_query()
    else:
        query = [("fields", f"user_id,{SCOPE_ROOT}"), ("include_fields", "true")]
    result = management_read(GET_USER, {"id": target}, query)
    user = result.body
    call.notes["target_user"] = user
    if not restriction.admits(user):
        call.notes["out_of_scope"] = True
        raise user_not_found()
    if reading_the_user:
        if call.notes.get("scope_strip_field") and isinstance(user, dict):
            user = {k: v for k, v in user.items() if k != SCOPE_ROOT}
        call.tier = choose_tier(call.operation, (), settings().tiers)
        call.status, call.response = result.status, user


def _check_scope_fields(call: Call, restriction: Restriction) -> None:
    body = call.request.body or {}
    metadata = body.get(SCOPE_ROOT)
    for field, value in restriction.clauses:
        key = field.split(".", 1)[1]
        if call.operation.operation_id == CREATE:
            given = _field_value(metadata, key) if isinstance(metadata, dict) else None
            if given != value:
                raise Problem(403, f"Users you create must have {field} = {value!r}, inside "
                                   f"your delegated scope.", slug="outside-scope",
                              extra={"field": field})
        # `{}` replaces app_metadata wholesale at Auth0 (the key goes with it), so an
        # empty object moves the user as surely as a new value does.
        elif isinstance(metadata, dict) and (not metadata or key.split(".")[0] in metadata):
            if _field_value(metadata, key) != value:
                raise Problem(403, f"Changing {field} would move the user outside your "
                                   f"delegated scope.", slug="outside-scope",
                              extra={"field": field})


def scope_guard(call: Call) -> None:
    if call.operation.operation_id == SEARCH:
        check_search(call)
    restriction = restriction_for(call.principal)
    if restriction is None:
        return
    call.notes["scope"] = restriction
    if restriction.missing:
        raise Problem(403, f"Your role's delegated scope depends on your "
                           f"{' and '.join(restriction.missing)}, which your token does not "
                           f"carry, so you may see no users.", slug="scope-claim-missing")
    operation_id = call.operation.operation_id
    if operation_id == SEARCH:
        q = call.request.query.get("q")
        call.request.query["q"] = lucene.restrict(q if isinstance(q, str) else None,
                                                  restriction.clauses)
        _ensure_scope_field(call)
    elif operation_id == BY_EMAIL:
        _ensure_scope_field(call)
    elif call.operation.target_user:
        _check_target(call, restriction)
    if call.operation.is_write:
        _check_scope_fields(call, restriction)


def filter_results(call: Call) -> None:
    """Observer: drop out-of-scope users from search answers (by-email relies on it; for
    GET /users it is a second wall behind the q clause)."""
    restriction = call.notes.get("scope")
    if not isinstance(restriction, Restriction) or call.response is None:
        return
    if call.operation.operation_id not in (SEARCH, BY_EMAIL):
        return
    strip = bool(call.notes.get("scope_strip_field"))

    def keep(users: list[Any]) -> list[Any]:
        kept = [u for u in users if restriction.admits(u)]
        dropped = len(users) - len(kept)
        if dropped and call.operation.operation_id == SEARCH:
            # The q clause should have made this impossible: worth an operator's look.
            log.warning(
                "search returned %d user(s) outside the caller's scope (q=%s)", dropped,
                redact(str(call.request.query.get("q"))[:200]))
        if strip:
            kept = [{k: v for k, v in u.items() if k != SCOPE_ROOT} for u in kept]
        return kept

    if isinstance(call.response, list):
        call.response = keep(call.response)
    elif isinstance(call.response, dict) and isinstance(call.response.get("users"), list):
        call.response = {**call.response, "users": keep(call.response["users"])}
