"""Delegated scope: which users a caller may see and change, declared in the policy's
`[scope]` and `[[scope.rules]]` (roles or an attribute → an `app_metadata` field that must
equal the caller's department or org_id). It fails closed; what each operation checks is
the catalog's `scope_check`; every search `q` is resent as the gateway read it.

Design: docs/guardrails.md, "Delegated scope"; the policy keys: README.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from .. import metrics
from ..auth.policy import Locator
from ..auth.principal import Principal
from ..call import Call, Restriction, field_value
from ..catalog import BY_ID, PERMISSIONS, READ_USER, Operation
from ..errors import Problem
from ..management import upstream
from ..observability import redact
from ..state import policy_section
from . import lucene, scope_users

log = logging.getLogger("admin_gateway.policy")
security_log = logging.getLogger("admin_gateway.security")

SECTION = "scope"
DEFAULT_UNRESTRICTED = "users:scope:all"
# Organization-scoped delegation: without it, only the organization of the caller's login.
ORG_UNRESTRICTED = "orgs:scope:all"
ATTRIBUTES = ("department", "org_id")
SCOPE_ROOT = "app_metadata"
_USER_FIELD_RE = re.compile(r"^app_metadata(\.[A-Za-z0-9_]+)+\Z")


@dataclass(frozen=True)
class Rule:
    user_field: str
    equals: str
    roles: frozenset[str] = frozenset()
    when_present: bool = False

    def applies_to(self, principal: Principal) -> bool:
        if self.when_present:
            # A claim that is present but malformed counts as present: the rule applies
            # and its attribute is missing (403), it is never skipped.
            return (_attribute(principal, self.equals) is not None
                    or self.equals in principal.unusable_claims)
        return bool(self.roles & set(principal.roles))


DEFAULTS = ("deny", "allow")


@dataclass(frozen=True)
class ScopeConfig:
    unrestricted_permission: str = DEFAULT_UNRESTRICTED
    rules: tuple[Rule, ...] = ()
    # A caller no rule applies to: "deny" sees nobody (fail closed), "allow" everyone.
    default: str = "deny"


def _attribute(principal: Principal, name: str) -> str | None:
    value = getattr(principal, name, None)
    return value if isinstance(value, str) and value else None


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
    unknown = set(raw) - {"unrestricted_permission", "rules", "default"}
    if unknown:
        problems.append(f"{locate.where(section=(SECTION,))}: [scope]: unknown key(s) "
                        f"{', '.join(sorted(unknown))}; allowed: unrestricted_permission, "
                        f"default, rules")
    default = raw.get("default", "deny")
    if default not in DEFAULTS:
        problems.append(f"{locate.where(section=(SECTION,), key='default')}: [scope] default "
                        f"must be \"deny\" (callers no rule applies to see nobody) or "
                        f"\"allow\"")
        default = "deny"
    if default == "allow":
        log.warning("[scope] default = \"allow\": callers no delegated-scope rule applies to "
                    "(e.g. a token without the roles claim) see every user; \"deny\" is safer")
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
    return ScopeConfig(str(permission), tuple(r for r in rules if r is not None), str(default))



def config() -> ScopeConfig:
    found = policy_section(SECTION, ScopeConfig())
    assert isinstance(found, ScopeConfig)
    return found


def restriction_for(principal: Principal, scope: ScopeConfig | None = None) -> Restriction | None:
    """What the caller may see; None only for holders of the unrestricted permission (or,
    when the policy says `default = "allow"`, for callers no rule applies to).

    Fail closed: a caller no rule applies to sees nobody (403 scope-no-rule), and a rule
    that applies but whose attribute the token lacks is a 403 (scope-claim-missing): a
    missing or unexpected claim never widens what a caller sees."""
    scope = scope or config()
    if principal.has(scope.unrestricted_permission):
        return None
    if "roles" in principal.unusable_claims and any(rule.roles for rule in scope.rules):
        # Without a usable roles claim (the post-login Action missing or failing) the
        # role-bound rules cannot be decided; skipping them would widen what remains.
        raise Problem(403, "Your token carries no usable roles claim, so the gateway cannot "
                           "tell which delegated-scope rules apply to you; you may see no "
                           "users.", slug="scope-claim-missing")
    applicable = [rule for rule in scope.rules if rule.applies_to(principal)]
    if not applicable:
        if scope.default == "allow":
            return None
        raise Problem(403, "No delegated-scope rule of the gateway's policy applies to you "
                           "(your token carries none of the roles or attributes the rules "
                           "name), so you may see no users.", slug="scope-no-rule")
    clauses, missing = [], []
    for rule in applicable:
        value = _attribute(principal, rule.equals)
        if value is None:
            missing.append(rule.equals)
        else:
            clauses.append((rule.user_field, value))
    if missing:
        raise Problem(403, f"Your role's delegated scope depends on your "
                           f"{' and '.join(dict.fromkeys(missing))}, which your token does not "
                           f"carry, so you may see no users.", slug="scope-claim-missing")
    return Restriction(tuple(dict.fromkeys(clauses)))


# -- the pipeline steps ----------------------------------------------------------------


def user_not_found() -> Problem:
    """Exactly what the facade answers when Auth0 says the user does not exist."""
    return Problem(404, "The user does not exist.", slug="upstream-404",
                   extra={"auth0_error_code": "inexistent_user"})


def _refuse_query(exc: lucene.QueryRefused) -> Problem:
    reason = str(exc)
    return Problem(400, f"The search q is refused: {reason}.", title="Invalid request",
                   slug="query-refused",
                   extra={"errors": {"q": [reason]}, "position": exc.position})


def _canonical_search(call: Call, restriction: Restriction | None) -> None:
    """Every caller's q is parsed with Lucene's grammar and resent as the gateway read it
    (every term escaped, explicit groups): the reader upstream cannot read it differently,
    and hidden fields are refused in every spelling. Scoped callers get the rule clauses
    as required top-level clauses."""
    q = call.request.query.get("q")
    text = q if isinstance(q, str) else None
    # Only an absent or ASCII-blank q passes as is (Unicode blanks are parsed and refused).
    if restriction is None and (text is None or not text.strip(" \t")):
        return
    try:
        if restriction is None:
            call.request.query["q"] = lucene.canonical(str(text))
        else:
            call.request.query["q"] = lucene.restrict(text, restriction.clauses)
    except lucene.QueryRefused as exc:
        raise _refuse_query(exc) from None
    except ValueError:
        # A claim value no query can express safely (no letter or digit, controls).
        raise Problem(403, "Your token's delegated-scope attribute cannot be used in a "
                           "search, so you may see no users.",
                      slug="scope-claim-missing") from None


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
        call.strip_scope_field = True
    elif not include and SCOPE_ROOT in names:
        remaining = [n for n in names if n != SCOPE_ROOT]
        if remaining:
            query["fields"] = ",".join(remaining)
        else:
            query.pop("fields")
            query.pop("include_fields", None)
        call.strip_scope_field = True


def _strip(user: Any) -> Any:
    return {k: v for k, v in user.items() if k != SCOPE_ROOT} if isinstance(user, dict) else user


# What a scope check reads of a user: the id and what the rules compare.
SCOPE_FIELDS = [("fields", f"user_id,{SCOPE_ROOT}"), ("include_fields", "true")]


def _admitted(call: Call, user_id: str, restriction: Restriction) -> bool:
    """Read one user's app_metadata and check it (a missing user: the read's 404)."""
    body = upstream().read(READ_USER, {"id": user_id}, SCOPE_FIELDS,
                           fresh=call.fresh_reads).body
    return restriction.admits(body)


def _check_target(call: Call, restriction: Restriction) -> None:
    target = call.target_user
    if target is None:
        return
    answer_with_it = call.operation.scope_check == "target-answer"
    if answer_with_it:
        # The check needs the very user the caller asked for: fetch it once, with the
        # caller's own fields (plus app_metadata), and let it be the answer.
        _ensure_scope_field(call)
        query = call.request.upstream_query()
    else:
        query = SCOPE_FIELDS
    result = upstream().read(READ_USER, {"id": target}, query, fresh=call.fresh_reads)
    if not restriction.admits(result.body):
        call.out_of_scope = True
        raise user_not_found()
    if answer_with_it:
        call.tier = upstream().tier_for(call.operation)
        call.status = result.status
        call.response = _strip(result.body) if call.strip_scope_field else result.body


def _check_scope_fields(call: Call, restriction: Restriction) -> None:
    body = call.request.body or {}
    metadata = body.get(SCOPE_ROOT)
    creating = call.operation.scope_check == "new-user"
    if creating and "user_id" in body:
        # Auth0's 409 for a taken id would tell a scoped caller that a user outside her
        # scope exists; Auth0 chooses the id when the body names none.
        raise Problem(403, "Users you create get their user_id from Auth0; a delegated "
                           "(scoped) administrator may not choose it.", slug="outside-scope",
                      extra={"field": "user_id"})
    for field, value in restriction.clauses:
        key = field.split(".", 1)[1]
        if creating:
            given = field_value(metadata, key) if isinstance(metadata, dict) else None
            if given != value:
                raise Problem(403, f"Users you create must have {field} = {value!r}, inside "
                                   f"your delegated scope.", slug="outside-scope",
                              extra={"field": field})
        # `{}` replaces app_metadata wholesale at Auth0 (the key goes with it), so an
        # empty object moves the user as surely as a new value does.
        elif isinstance(metadata, dict) and (not metadata or key.split(".")[0] in metadata):
            if field_value(metadata, key) != value:
                raise Problem(403, f"Changing {field} would move the user outside your "
                                   f"delegated scope.", slug="outside-scope",
                              extra={"field": field})
    # Keys other rules scope by (e.g. org_id for a department-scoped editor): setting them
    # would put the user inside somebody else's scope. Only unrestricted callers may.
    own = {field for field, _ in restriction.clauses}
    if isinstance(metadata, dict):
        for rule in config().rules:
            key = rule.user_field.split(".", 1)[1]
            if rule.user_field not in own and key.split(".")[0] in metadata:
                raise Problem(403, f"{rule.user_field} decides other administrators' "
                                   f"delegated scope; only an unrestricted administrator may "
                                   f"set it.", slug="outside-scope",
                              extra={"field": rule.user_field})


def _check_organization(call: Call) -> None:
    """An organization in the path must be the one the caller logged in through (the
    token's org_id), unless the caller may act on every organization. Fail closed: a
    missing or malformed org_id claim is a 403, never a pass."""
    name = call.operation.org_param
    if name is None or call.principal.has(ORG_UNRESTRICTED):
        return
    org = call.principal.org_id
    if org is None or "org_id" in call.principal.unusable_claims:
        raise Problem(403, f"Your token carries no usable org_id, so you may act on no "
                           f"organization (acting on any needs {ORG_UNRESTRICTED}).",
                      slug="org-claim-missing")
    if call.request.path[name] != org:
        raise Problem(403, f"You may act only on the organization you logged in through "
                           f"({org}); acting on others needs {ORG_UNRESTRICTED}.",
                      slug="org-not-yours")


def _not_found(call: Call) -> Problem:
    """The same 404 whether the resource does not exist or its owner is out of scope."""
    return Problem(404, f"The {_noun(call.operation)} does not exist.", slug="upstream-404")


def _noun(operation: Operation) -> str:
    """"session" for /sessions/{id}, "refresh token" for /refresh-tokens/{id}."""
    return operation.path.split("/")[1].removesuffix("s").replace("-", " ")


def _resolve_owner(call: Call) -> None:
    """Read the session or refresh token to learn whose it is (scope and escalation check
    that user); a read of the resource itself is the answer."""
    lookup = call.operation.owner_lookup
    if lookup is None:
        return
    try:
        result = upstream().read(BY_ID[lookup], call.request.path, [],
                                 fresh=call.fresh_reads)
    except Problem as refused:
        if refused.code == 404:
            raise _not_found(call) from None
        raise
    owner = result.body.get("user_id") if isinstance(result.body, dict) else None
    if not isinstance(owner, str) or not owner:
        # Nobody to check the call against: never act on an unowned answer.
        raise Problem(502, "Auth0's answer names no owner for this resource, so the "
                           "gateway cannot check it against your scope.",
                      slug="upstream-error")
    call.owner = owner
    if lookup == call.operation.operation_id:
        call.tier = upstream().tier_for(call.operation)
        call.status, call.response = result.status, result.body


def _check_owner(call: Call, restriction: Restriction) -> None:
    assert call.owner is not None
    try:
        inside = _admitted(call, call.owner, restriction)
    except Problem as refused:
        if refused.code != 404:
            raise
        inside = False  # an owner Auth0 no longer knows: nobody's session to act on
    if not inside:
        call.out_of_scope = True
        call.status, call.response = None, None
        raise _not_found(call)


def _check_other_users(call: Call, restriction: Restriction) -> None:
    """The secondary account an unlink restores, and every user a body lists."""
    template = call.operation.secondary_user
    if template is not None:
        _check_secondary(call, template.format(**call.request.path), restriction)
    listed = call.body_users
    if listed:
        inside = scope_users.admitted(listed, restriction, fresh=call.fresh_reads)
        outside = [user_id for user_id in dict.fromkeys(listed) if user_id not in inside]
        if outside:
            call.out_of_scope = True
            raise Problem(404, "One or more of these users do not exist.",
                          slug="upstream-404", extra={"users": outside})


def _identity_not_found() -> Problem:
    return Problem(404, "The identity does not exist.", slug="upstream-404")


def _check_secondary(call: Call, secondary: str, restriction: Restriction) -> None:
    """The identity must be linked to the (admitted) primary, and the account an unlink
    restores, if it is a user of its own already, inside the scope. Both refusals are the
    same 404, so that an unlink never tells whether some user id exists."""
    primary = upstream().read(READ_USER, {"id": str(call.target_user)},
                              [("fields", "user_id,identities"), ("include_fields", "true")],
                              fresh=call.fresh_reads).body
    identities = primary.get("identities") if isinstance(primary, dict) else None
    linked = {f"{i.get('provider')}|{i.get('user_id')}" for i in identities or []
              if isinstance(i, dict)}
    if secondary not in linked or secondary == call.target_user:
        raise _identity_not_found()
    try:
        inside = _admitted(call, secondary, restriction)
    except Problem as refused:
        if refused.code != 404:
            raise
        return  # not a user of its own: the identity lives only inside the primary
    if not inside:
        call.out_of_scope = True
        raise _identity_not_found()


def _check_owned_body_fields(call: Call) -> None:
    """A resource a body names (revoke-access's session_id) must be the target user's:
    otherwise an in-scope path would carry an action on somebody else's session."""
    for name, lookup in call.operation.owned_body_fields.items():
        value = (call.request.body or {}).get(name)
        if value is None:
            continue
        try:
            owned = upstream().read(BY_ID[lookup], {"id": str(value)}, [],
                                    fresh=True).body
        except Problem as refused:
            if refused.code != 404:
                raise
            owned = None
        owner = owned.get("user_id") if isinstance(owned, dict) else None
        if owner is None or owner != call.target_user:
            raise Problem(404, f"The {_noun(BY_ID[lookup])} does not exist.", slug="upstream-404",
                          extra={"field": name})


def _check_members(call: Call, restriction: Restriction) -> None:
    operation = call.operation
    call.response = scope_users.in_scope_answer(
        operation, call.request.path, call.request.query, operation.list_key, restriction,
        fresh=call.fresh_reads)
    call.tier = upstream().tier_for(operation)
    call.status = 200


def _involves_users(call: Call) -> bool:
    operation = call.operation
    return (operation.scope_check != "none" or operation.body_users is not None
            or operation.secondary_user is not None
            # app_metadata decides whose scope a user is in (an invitation's reaches the
            # user who accepts it).
            or (operation.is_write and SCOPE_ROOT in call.fields))


def check(call: Call) -> None:
    """Pipeline step: refuse or restrict what the caller may see and change."""
    kind = call.operation.scope_check
    _check_organization(call)  # org-scoped delegation: the caller's own organization
    if not _involves_users(call):
        return  # no user is involved (e.g. the tenant's roles)
    restriction = restriction_for(call.principal)
    if kind == "query":
        _canonical_search(call, restriction)
    _resolve_owner(call)  # a session or refresh token: whose it is (escalation needs it)
    _check_owned_body_fields(call)  # a session the body names is the target's
    if restriction is None:
        return
    call.restriction = restriction
    if kind in ("query", "results"):
        _ensure_scope_field(call)
    elif kind in ("target", "target-answer"):
        _check_target(call, restriction)
    elif kind == "owner":
        _check_owner(call, restriction)
    elif kind == "members":
        _check_members(call, restriction)
    _check_other_users(call, restriction)
    if call.operation.is_write:
        _check_scope_fields(call, restriction)


def filter_results(call: Call) -> None:
    """Pipeline step after the Management call, for searches and lookups of a scoped
    caller. A lookup's answer (by email: not restrictable upstream) is filtered. A search
    was restricted upstream, so a user outside the scope in its answer means the restriction
    failed: a tripwire, never a patched-up partial answer (whose counts would still include
    the hidden users) — 502, a security event in the log and in /metrics."""
    _filter_organizations(call)
    restriction = call.restriction
    if restriction is None or call.response is None:
        return
    kind = call.operation.scope_check
    if kind not in ("query", "results"):
        return
    body = call.response
    users = body.get("users") if isinstance(body, dict) else body
    if not isinstance(users, list):
        return
    kept = [user for user in users if restriction.admits(user)]
    if len(kept) < len(users) and kind == "query":
        _tripwire(call, len(users) - len(kept))
    if call.strip_scope_field:
        kept = [_strip(user) for user in kept]
    call.response = {**body, "users": kept} if isinstance(body, dict) else kept


def _filter_organizations(call: Call) -> None:
    """A user's organizations, as an org-scoped caller may see them: only its own."""
    if not call.operation.org_answer or call.principal.has(ORG_UNRESTRICTED):
        return
    org = None if "org_id" in call.principal.unusable_claims else call.principal.org_id
    body = call.response
    key = "organizations"
    items = body.get(key) if isinstance(body, dict) else body
    # An answer of another shape keeps nothing: never passed on unfiltered.
    kept = [item for item in items if isinstance(item, dict) and org is not None
            and item.get("id") == org] if isinstance(items, list) else []
    if isinstance(body, dict):
        call.response = {**body, key: kept}
        if "total" in body:
            call.response["total"] = len(kept)
    else:
        call.response = kept


def _tripwire(call: Call, outside: int) -> None:
    metrics.SCOPE_VIOLATIONS.labels(call.operation.operation_id).inc()
    security_log.error(
        "security: a %s answer held %d user(s) outside the caller's delegated scope; "
        "nothing was returned (q=%s)", call.operation.operation_id, outside,
        redact(str(call.request.query.get("q")))[:300],
        extra={"security_event": "scope-violation", "operation": call.operation.operation_id,
               "outside_users": outside})
    raise Problem(502, "Auth0's answer held users outside your delegated scope, so none of "
                       "it is returned; the operators have been told.",
                  slug="scope-violation")
