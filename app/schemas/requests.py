"""Per-operation request validation: Auth0's schemas plus the gateway's narrower rules.

For each catalog operation, a `RequestValidator` checks path parameters, the
query string and the JSON body, and returns what may be sent upstream. Bad
input is a 400 problem listing every problem by field; unknown query
parameters and body fields are rejected by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, validate
from werkzeug.datastructures import MultiDict

from ..catalog import BY_ID, Operation, spec_document
from ..errors import Problem
from .from_spec import USER_ID_RE, body_schema, query_schema, validation_messages
from .limits import depth_errors, metadata_key_errors

MAX_RESULTS = 1000  # Auth0 returns at most 1000 users per query (page × per_page)
MAX_Q_LENGTH = 2048

# User attributes a caller may ask for (`fields`) or sort on (`sort`).
USER_FIELDS = frozenset({
    "user_id", "email", "email_verified", "username", "phone_number", "phone_verified",
    "created_at", "updated_at", "identities", "app_metadata", "user_metadata", "picture",
    "name", "nickname", "multifactor", "last_ip", "last_login", "logins_count", "blocked",
    "given_name", "family_name",
})
USER_SORT_FIELDS = frozenset({
    "created_at", "updated_at", "last_login", "logins_count", "email", "name", "nickname",
    "user_id", "username", "given_name", "family_name",
})
LOG_SORT_FIELDS = frozenset({"date", "type", "client_id", "connection"})
ROLE_ID_RE = re.compile(r"^rol_[A-Za-z0-9]{1,64}\Z")

Errors = dict[str, list[str]]
Rule = Callable[[dict[str, Any]], Errors]


def _sort_rule(allowed: frozenset[str]) -> Rule:
    def check(values: dict[str, Any]) -> Errors:
        sort = values.get("sort")
        if sort is None:
            return {}
        field, _, direction = str(sort).partition(":")
        if field not in allowed or direction not in ("1", "-1"):
            return {"sort": [f"Must be field:1 or field:-1 with field one of "
                             f"{', '.join(sorted(allowed))}."]}
        return {}
    return check


def _fields_rule(values: dict[str, Any]) -> Errors:
    requested = values.get("fields")
    if requested is None:
        return {}
    names = [name.strip() for name in str(requested).split(",")]
    unknown = sorted(name for name in names if name not in USER_FIELDS)
    if unknown or not names:
        return {"fields": [f"Unknown user field(s): {', '.join(unknown)}."]}
    return {}


def _paging_rule(values: dict[str, Any]) -> Errors:
    page, per_page = values.get("page", 0), values.get("per_page", 50)
    if (page + 1) * per_page > MAX_RESULTS:
        return {"page": [f"Auth0 returns only the first {MAX_RESULTS} results of a query; "
                         f"page {page} with per_page {per_page} is beyond them. Narrow q."]}
    return {}


def _search_rule(values: dict[str, Any]) -> Errors:
    errors: Errors = {}
    if values.get("search_engine", "v3") != "v3":
        errors["search_engine"] = ["Only v3 is supported (v1 and v2 are retired by Auth0)."]
    if len(values.get("q", "")) > MAX_Q_LENGTH:
        errors["q"] = [f"Longer than {MAX_Q_LENGTH} characters."]
    return errors


def _email_rule(values: dict[str, Any]) -> Errors:
    try:
        validate.Email()(values.get("email", ""))
    except ValidationError as exc:
        return {"email": [str(m) for m in exc.messages]}
    return {}


def _role_ids_rule(values: dict[str, Any]) -> Errors:
    bad = [r for r in values.get("roles", []) if not ROLE_ID_RE.match(r)]
    if bad:
        return {"roles": [f"Not role ids (rol_...): {', '.join(map(repr, bad[:5]))}."]}
    return {}


# Every member is checked (scope, protection) with Management calls of its own: a bounded
# list keeps one request from spending the fleet's budget.
MAX_MEMBERS_PER_CALL = 50


# What GET /organizations/{id}/members answers with read:organization_members alone: `roles`
# needs another scope (and a member's roles have their own operation).
MEMBER_FIELDS = frozenset({"user_id", "email", "picture", "name"})


def _member_fields_rule(values: dict[str, Any]) -> Errors:
    names = {n.strip() for n in str(values.get("fields", "")).split(",") if n.strip()}
    other = sorted(names - MEMBER_FIELDS)
    if other:
        return {"fields": [f"Not a member field: {', '.join(other)} (a member's roles: GET "
                           f"/api/v2/organizations/{{id}}/members/{{user_id}}/roles)."]}
    return {}


def _member_ids_rule(values: dict[str, Any]) -> Errors:
    members = values.get("members", [])
    bad = [m for m in members if not USER_ID_RE.match(m)]
    if bad:
        return {"members": [f"Not user ids: {', '.join(map(repr, bad[:5]))}."]}
    if len(set(members)) != len(members):
        return {"members": ["The same user is named more than once."]}
    if len(members) > MAX_MEMBERS_PER_CALL:
        return {"members": [f"At most {MAX_MEMBERS_PER_CALL} users per request."]}
    return {}


def _user_id_required(values: dict[str, Any]) -> Errors:
    if not values.get("user_id"):
        return {"user_id": ["Missing data for required field (the gateway identifies the "
                            "target user by user_id)."]}
    return {}


# The rules an operation names in the catalog (`query_rules`, `body_rules`).
RULES: dict[str, Rule] = {
    "sort:users": _sort_rule(USER_SORT_FIELDS),
    "sort:logs": _sort_rule(LOG_SORT_FIELDS),
    "fields": _fields_rule,
    "paging": _paging_rule,
    "search-engine": _search_rule,
    "email": _email_rule,
    "role-ids": _role_ids_rule,
    "user-ids": _member_ids_rule,
    "member-fields": _member_fields_rule,
    "user-id-required": _user_id_required,
    # Auth0's limits on metadata (docs/limits.md): field names without `.` or `$`.
    "metadata": metadata_key_errors,
}
# Rules whose messages name a limit: the problem's detail quotes them.
LIMIT_RULES = frozenset({"metadata"})


@dataclass(frozen=True)
class ValidatedRequest:
    path: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any] | None

    def upstream_query(self) -> list[tuple[str, str]]:
        """The query string for Auth0, values in Auth0's spelling."""
        out = []
        for name, value in self.query.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            out.append((name, str(value)))
        return out


def _bad_request(errors: Mapping[str, Any], where: str, *, limits: Errors | None = None
                 ) -> Problem:
    """400 listing every problem by field; `limits`' messages (which name the limit
    broken) are quoted in the detail too."""
    unknown = sorted(name for name, msgs in errors.items() if msgs == ["Unknown field."])
    parts = []
    if unknown:
        parts.append(f"Unknown {where}: {', '.join(unknown)}.")
    others = sorted(name for name in errors if name not in unknown)
    if others:
        parts.append(f"Invalid {where}: {', '.join(others)}.")
    for name in sorted(limits or {}):
        parts.extend((limits or {})[name])
    return Problem(400, " ".join(parts), title="Invalid request", slug="invalid-request",
                   extra={"errors": dict(errors)})


class RequestValidator:
    def __init__(self, operation: Operation) -> None:
        spec_op = spec_document()["paths"][operation.path][operation.method.lower()]
        self.operation = operation
        self.path_names = tuple(re.findall(r"{(\w+)}", operation.path))
        self.query: Schema = query_schema(
            spec_op, name=f"{operation.operation_id}_query",
            exclude=operation.excluded_query)
        self.body: Schema | None = body_schema(spec_op, name=f"{operation.operation_id}_body")
        # A body of options only (no required field) may be left out or empty, except in an
        # update, where an empty body would change nothing.
        self.body_optional = (self.body is not None and operation.method != "PATCH"
                              and not any(f.required for f in self.body.fields.values()))
        self.query_rules = tuple((name, RULES[name]) for name in operation.query_rules)
        self.body_rules = tuple((name, RULES[name]) for name in operation.body_rules)

    def validate(self, path: Mapping[str, str], args: MultiDict[str, str],
                 body: Any) -> ValidatedRequest:
        return ValidatedRequest(self._path(path), self._query(args), self._body(body))

    def _path(self, path: Mapping[str, str]) -> dict[str, str]:
        errors: Errors = {}
        for name in self.path_names:
            if not USER_ID_RE.match(path.get(name, "")):
                errors[name] = ["Not a valid user id (provider|id, no control characters, "
                                "slashes or percent signs)."]
        if errors:
            raise _bad_request(errors, "path parameter(s)")
        return {name: path[name] for name in self.path_names}

    def _query(self, args: MultiDict[str, str]) -> dict[str, Any]:
        repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
        if repeated:
            raise _bad_request({name: ["Given more than once."] for name in repeated},
                               "query parameter(s)")
        try:
            values: dict[str, Any] = self.query.load(args.to_dict())
        except ValidationError as exc:
            raise _bad_request(validation_messages(exc), "query parameter(s)") from None
        self._apply(self.query_rules, values, "query parameter(s)")
        return values

    def _body(self, body: Any) -> dict[str, Any] | None:
        if self.body is None:
            if body is not None:
                raise Problem(400, "This operation takes no request body.",
                              title="Invalid request", slug="invalid-request")
            return None
        if body is None and self.body_optional:
            # e.g. revoke-access without options: Auth0 revokes everything. The gateway's
            # own rules still see the (empty) body: a rule may require a field.
            self._apply(self.body_rules, {}, "body field(s)")
            return None
        if not isinstance(body, dict):
            raise Problem(400, "The request body must be a JSON object.",
                          title="Invalid request", slug="invalid-request")
        forbidden = {name: [reason] for name, reason in self.operation.forbidden_fields.items()
                     if name in body}
        if forbidden:
            raise _bad_request(forbidden, "body field(s)")
        if not body and not self.body_optional:
            raise Problem(400, "The request body names no field to change.",
                          title="Invalid request", slug="invalid-request")
        # Before anything walks the values: nothing deeper than Auth0 keeps goes on.
        too_deep = depth_errors(body)
        if too_deep:
            raise _bad_request(too_deep, "body field(s)", limits=too_deep)
        try:
            values: dict[str, Any] = self.body.load(body)
        except ValidationError as exc:
            raise _bad_request(validation_messages(exc), "body field(s)") from None
        self._apply(self.body_rules, values, "body field(s)")
        # Forward what the caller sent: every field was loaded with strict JSON types
        # (from_spec.py), so it is exactly what was validated, never a coerced copy.
        return {name: body[name] for name in values}

    @staticmethod
    def _apply(rules: tuple[tuple[str, Rule], ...], values: dict[str, Any], where: str
               ) -> None:
        errors: Errors = {}
        limits: Errors = {}
        for name, rule in rules:
            found = rule(values)
            errors.update(found)
            if name in LIMIT_RULES:
                limits.update(found)
        if errors:
            raise _bad_request(errors, where, limits=limits)


def validator_for(operation: Operation) -> RequestValidator:
    return _validator(operation.operation_id)


@cache
def _validator(operation_id: str) -> RequestValidator:
    return RequestValidator(BY_ID[operation_id])
