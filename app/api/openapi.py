"""/openapi.json and /docs: the gateway's own contract, derived from Auth0's.

Each enabled catalog operation keeps Auth0's operation object (parameters,
request and response schemas, examples), narrowed to what the gateway accepts
(excluded query parameters and forbidden body fields removed), secured by the
caller's bearer token instead of Management scopes, and annotated with the
gateway permission it needs; a write may also answer 202 (held for four-eyes
approval). The gateway's own endpoints (/gateway/*: me, audit, approvals, the
lock-out action) and the probes are added. /docs serves Swagger UI from the
`swagger-ui-bundle-v2` package: no CDN.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, send_from_directory

from ..catalog import CATALOG, LOCK_OUT, LOCK_OUT_STEPS, Operation, spec_document
from ..schemas.from_spec import resolve
from ..state import settings

bp = Blueprint("openapi", __name__)

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "request_id"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "object", "description": "Per-field validation messages (400)."},
        "required_permission": {"type": "string"},
    },
}
_PROBLEM_RESPONSES = {
    "400": "Invalid request (problem+json lists each field).",
    "401": "Missing, malformed or expired access token (or a recent MFA login is needed).",
    "403": "The caller lacks the permission this operation (or a field) needs.",
    "404": "No such user (or outside the caller's delegated scope).",
    "409": "Auth0 reports a conflict (e.g. the user already exists).",
    "413": "The request body is larger than MAX_BODY_BYTES.",
    "414": "The request line is longer than the server accepts (gunicorn's "
           "limit_request_line, 4094 bytes by default).",
    "415": "The request body is not JSON (Content-Type must be application/json).",
    "429": "Rate limited (the caller's limit, the fleet's Management budget or Auth0's).",
    "502": "Auth0 failed or refused the gateway's credentials.",
    "431": "The request headers are larger, or more, than the server accepts (gunicorn's "
           "limit_request_field_size and limit_request_fields).",
    "503": "Auth0's signing keys could not be fetched yet: no token can be checked.",
    "504": "Auth0 did not answer in time.",
}
# Every facade operation may answer these (authentication, validation, scope, limits,
# Management errors); 409 only where Auth0 documents it, 413 and 415 where there is a body.
_FACADE_ERRORS = ("400", "401", "403", "404", "429", "502", "503", "504")
# What gunicorn itself answers for any path (its rarer 417 and 501 are in the info text).
_SERVER_ERRORS = ("400", "414", "431")


def _problem_ref(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _operation_doc(operation: Operation) -> dict[str, Any]:
    source = spec_document()["paths"][operation.path][operation.method.lower()]
    doc: dict[str, Any] = copy.deepcopy(source)
    excluded = operation.excluded_query
    doc["parameters"] = [p for p in (resolve(p) for p in doc.get("parameters", []))
                         if p["in"] != "header" and p["name"] not in excluded]
    if "requestBody" in doc:
        # Auth0 also reads form-encoded bodies; the gateway reads JSON only (else 415).
        media = {"application/json": doc["requestBody"]["content"]["application/json"]}
        doc["requestBody"]["content"] = media
        for content in media.values():
            schema = copy.deepcopy(dict(resolve(content["schema"])))
            for name in operation.forbidden_fields:
                schema.get("properties", {}).pop(name, None)
            schema["additionalProperties"] = False
            content["schema"] = schema
    permissions = sorted(set(operation.field_permissions.values()) - {operation.permission})
    note = f"\n\n**Gateway permission:** `{operation.permission}`"
    if permissions:
        fields = ", ".join(f"`{f}` → `{p}`" for f, p in sorted(operation.field_permissions.items())
                           if p != operation.permission)
        note += f"; fields needing more: {fields}"
    for name, reason in operation.forbidden_fields.items():
        note += f"\n\n`{name}` is not accepted: {reason}"
    doc["description"] = (doc.get("description") or operation.summary) + note
    doc["security"] = [{"bearerAuth": []}]
    doc["x-gateway-permission"] = operation.permission
    # Auth0's success responses stay; every error is the gateway's own problem+json.
    upstream = doc.get("responses", {})
    errors = [*_FACADE_ERRORS, *(("409",) if "409" in upstream else ()),
              *(("413", "415") if "requestBody" in doc else ())]
    doc["responses"] = {
        **{status: response for status, response in upstream.items()
           if status.isdigit() and int(status) < 400},
        **{status: _problem_ref(_PROBLEM_RESPONSES[status]) for status in sorted(errors)},
    }
    if operation.is_write:
        _add_held(doc["responses"])
    return doc


_HELD = ("Held for four-eyes approval (`[approvals]` in the policy): nothing was sent to "
         "Auth0; the body is the approval request (`X-Approval-Reason` says why it is asked "
         "for).")


def _add_held(responses: dict[str, Any]) -> None:
    """Any write may be held for approval instead of sent: 202 with the approval request.
    Where Auth0's own success is a 202 already (revoke-access, which answers no body), its
    response stays as Auth0 documents it and the description names both answers."""
    if "202" in responses:
        auth0 = dict(responses["202"])
        auth0["description"] = f"{auth0.get('description', 'Accepted')} Or: {_HELD}"
        responses["202"] = auth0
        return
    responses["202"] = {"description": _HELD, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Approval"}}}}


def _gateway_paths() -> dict[str, Any]:
    json_ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/gateway/me": {"get": {
            "operationId": "gateway_me", "summary": "Who am I and what may I call",
            "security": [{"bearerAuth": []}],
            "responses": {"200": json_ok, **{status: _problem_ref(_PROBLEM_RESPONSES[status])
                                             for status in ("401", "429", "503")}}}},
        "/healthz": {"get": {"operationId": "healthz", "summary": "Liveness", "security": [],
                             "responses": {"200": json_ok}}},
        "/readyz": {"get": _readyz_doc()},
        "/gateway/audit": {"get": _audit_doc()},
        LOCK_OUT.gateway_path: {"post": _lock_out_doc()},
        **_approvals_paths(),
    }


def _readyz_doc() -> dict[str, Any]:
    """GET /readyz (app/runtime/readiness.py): every probe's result, 200 or 503."""
    body = {"type": "object", "required": ["status", "checks"], "properties": {
        "status": {"type": "string", "enum": ["ready", "not ready"]},
        "checks": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"ok": {"type": "boolean"},
                                             "detail": {"type": ["string", "null"]}}}}}}
    content = {"application/json": {"schema": body}}
    return {"operationId": "readyz", "summary": "Readiness", "security": [],
            "description": "Redis answers, Auth0's signing keys are loaded, a Management "
                           "token is cached or mintable. Never rate-limited, no token.",
            "responses": {
                "200": {"description": "Ready", "content": content},
                # Not problem+json: the same report as 200, for a load balancer to read.
                "503": {"description": "Not ready: `checks` names the failing probe.",
                        "content": content}}}


def _user_id_parameter(description: str) -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}


def _lock_out_doc() -> dict[str, Any]:
    """POST /gateway/users/{id}/lock-out (app/api/lockout.py), a gateway action."""
    steps = ", ".join(f"`{step.name}` ({step.operation.method} "
                      f"{step.operation.gateway_path})" for step in LOCK_OUT_STEPS)
    return {
        "operationId": LOCK_OUT.operation_id, "summary": LOCK_OUT.summary,
        "description": (
            f"Runs every step in order, each with its own operation's credential tier: "
            f"{steps}. Every step runs even when an earlier one failed; the answer reports "
            f"each step's outcome. Idempotent (a blocked user stays blocked; nothing left "
            f"to revoke is nothing revoked), audited as one event, never held for "
            f"four-eyes approval. Takes no body. A step Auth0's plan does not offer "
            f"(MGMT_PLAN) is `not-offered`. 200 when the user was blocked (`complete` says "
            f"whether every step was done); 502 `lock-out-incomplete` when blocking "
            f"failed.\n\n**Gateway permission:** `{LOCK_OUT.permission}`"),
        "security": [{"bearerAuth": []}], "x-gateway-permission": LOCK_OUT.permission,
        "parameters": [_user_id_parameter("The user to lock out (Auth0 user_id).")],
        "responses": {
            "200": {"description": "The user is blocked; `steps` says what each step did.",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/LockOut"}}}},
            "400": _problem_ref("A request body was sent (this operation takes none), or "
                                "the request is malformed."),
            "401": _problem_ref(_PROBLEM_RESPONSES["401"]),
            "403": _problem_ref("The caller lacks users:lock_out, or the target is the "
                                "caller (`self-action`) or holds a protected role "
                                "(`protected-user`), or a delegated-scope claim is "
                                "missing."),
            "404": _problem_ref(_PROBLEM_RESPONSES["404"]),
            "429": _problem_ref(_PROBLEM_RESPONSES["429"]),
            "502": {"description": "`lock-out-incomplete`: the user could not be blocked "
                                   "(`steps` says what each step did; a later step may "
                                   "still have been done); or Auth0 failed while the "
                                   "gateway checked the target.",
                    "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/LockOutIncomplete"}}}},
            "503": _problem_ref(_PROBLEM_RESPONSES["503"]),
            "504": _problem_ref("Auth0 did not answer in time while the gateway checked the "
                                "target (each step's own timeout is a `failed` step)."),
        },
    }


def _approval_id_parameter() -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True,
            "description": "The approval request's id (`apr_` + 24 hex digits; anything "
                           "else is a 404).", "schema": {"type": "string"}}


def _approvals_paths() -> dict[str, Any]:
    """`/gateway/approvals*` (app/api/approvals.py). Every one answers 404
    `approval-not-found` when the policy has no `[approvals]`."""
    from ..guards.approvals import STATES

    bearer: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    approval = {"application/json": {"schema": {"$ref": "#/components/schemas/Approval"}}}
    not_found = _problem_ref("No such approval request, not yours to see, or approvals are "
                             "not enabled (`approval-not-found`).")
    unavailable = _problem_ref("Approval requests are kept in Redis, which is unavailable "
                               "(`approvals-unavailable`), or Auth0's signing keys could "
                               "not be fetched yet.")
    common = {"401": _problem_ref(_PROBLEM_RESPONSES["401"]), "404": not_found,
              "429": _problem_ref(_PROBLEM_RESPONSES["429"]), "503": unavailable}
    reason_body = {"required": False, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": False, "properties": {
            "reason": {"type": "string", "description": "Kept (printable characters, at "
                                                        "most 500) with the decision."}}}}}}

    def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description,
                "schema": schema}

    def decision(operation_id: str, summary: str, description: str) -> dict[str, Any]:
        return {
            "operationId": operation_id, "summary": summary, "description": description,
            "security": bearer, "parameters": [_approval_id_parameter()],
            "requestBody": reason_body,
            "responses": {
                "200": {"description": "The approval request after the decision.",
                        "content": approval},
                "400": _problem_ref("The body is not `{\"reason\": \"...\"}`; or, for "
                                    "the approval that executes the request, Auth0 refused "
                                    "it."),
                **common,
                "403": _problem_ref("Not an approver (the approver permission and the "
                                    "unrestricted scope permission), the requester "
                                    "(`approval-by-requester`) or the target "
                                    "(`approval-on-self`); or the executed request was "
                                    "refused."),
                "409": _problem_ref("No longer pending, already approved by you, or expired "
                                    "(`approval-decided`, `approval-expired`); or Auth0 "
                                    "reported a conflict executing it."),
                "413": _problem_ref(_PROBLEM_RESPONSES["413"]),
                "415": _problem_ref(_PROBLEM_RESPONSES["415"]),
                "502": _problem_ref("Approved, but executing the request failed at Auth0."),
                "504": _problem_ref("Approved, but Auth0 did not answer in time (the change "
                                    "may or may not have been applied)."),
            }}

    return {
        "/gateway/approvals": {"get": {
            "operationId": "gateway_approvals", "summary": "List approval requests",
            "description": "Newest first: your own requests, or everyone's for approvers.",
            "security": bearer,
            "parameters": [
                query("state", "A state, or `decided` (any but pending)",
                      {"type": "string", "enum": [*STATES, "decided"]}),
                query("mine", "Only your own requests", {"type": "string",
                                                        "enum": ["true", "false"]}),
                query("operation", "Operation id", {"type": "string"}),
                query("target", "User id the request acts on", {"type": "string"}),
                query("limit", "Requests per page", {"type": "integer", "minimum": 1,
                                                     "maximum": 100, "default": 50}),
                query("before", "`next_before` of the previous page",
                      {"type": "number", "minimum": 0, "exclusiveMaximum": 1e11}),
            ],
            "responses": {
                "200": {"description": "A page of approval requests", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "approvals": {"type": "array", "items": {"allOf": [
                            {"$ref": "#/components/schemas/Approval"},
                            {"type": "object", "properties": {
                                "created_ts": {"type": "number"}}}]}},
                        "next_before": {"type": ["number", "null"]}}}}}},
                "400": _problem_ref(_PROBLEM_RESPONSES["400"]), **common}}},
        "/gateway/approvals/{id}": {"get": {
            "operationId": "gateway_approval", "summary": "Read an approval request",
            "description": "The requester and approvers only.", "security": bearer,
            "parameters": [_approval_id_parameter()],
            "responses": {"200": {"description": "The approval request", "content": approval},
                          **common}}},
        "/gateway/approvals/{id}/approve": {"post": decision(
            "gateway_approval_approve", "Approve a request",
            "The approval that completes the count runs every check again as the requester "
            "and calls Auth0 once; the answer is the request (`executed`) or the problem "
            "that stopped it (`failed`). Needs the step-up login the operation needs.")},
        "/gateway/approvals/{id}/reject": {"post": decision(
            "gateway_approval_reject", "Reject a request",
            "The request ends (`rejected`); nothing is sent.")},
        "/gateway/approvals/{id}/withdraw": {"post": {
            "operationId": "gateway_approval_withdraw", "summary": "Withdraw your request",
            "description": "The requester only, while it is pending; nothing is sent.",
            "security": bearer, "parameters": [_approval_id_parameter()],
            "responses": {"200": {"description": "The withdrawn request", "content": approval},
                          **common,
                          "409": _problem_ref("No longer pending (`approval-decided`).")}}},
    }


def _gateway_schemas() -> dict[str, Any]:
    """Components of the gateway's own answers: the approval request and the lock-out."""
    from ..guards.approvals import STATES

    nullable_string = {"type": ["string", "null"]}
    step = {"type": "object", "required": ["step", "outcome"], "properties": {
        "step": {"type": "string", "enum": [s.name for s in LOCK_OUT_STEPS]},
        "outcome": {"type": "string", "enum": ["done", "failed", "not-offered"]},
        "status": {"type": "integer", "description": "Auth0's status, or the gateway's for "
                                                     "a call that failed before Auth0 "
                                                     "answered (absent when the plan "
                                                     "does not offer the step)."},
        "detail": {"type": "string"}}}
    return {
        "LockOutStep": step,
        "LockOut": {"type": "object", "required": ["user_id", "complete", "steps"],
                    "properties": {"user_id": {"type": "string"},
                                   "complete": {"type": "boolean",
                                                "description": "Every step was done."},
                                   "steps": {"type": "array", "items": {
                                       "$ref": "#/components/schemas/LockOutStep"}}}},
        "LockOutIncomplete": {"allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {"type": "object", "properties": {
                "user_id": {"type": "string"},
                "steps": {"type": "array",
                          "items": {"$ref": "#/components/schemas/LockOutStep"}}}}]},
        "Approval": {"type": "object", "required": ["id", "state", "operation"],
                     "properties": {
            "id": {"type": "string"},
            "state": {"type": "string", "enum": list(STATES)},
            "operation": {"type": "object", "properties": {
                "id": {"type": "string"}, "method": {"type": "string"},
                "path": {"type": "string"}, "summary": {"type": "string"}}},
            "target": nullable_string,
            "path_params": {"type": "object"},
            "query": {"type": "object"},
            "body": {"description": "The validated body (`password` redacted)."},
            "requester": {"type": "object", "properties": {
                "sub": {"type": "string"},
                "roles": {"type": "array", "items": {"type": "string"}}}},
            "reason": nullable_string,
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {"type": "string", "format": "date-time"},
            "approvals_required": {"type": "integer"},
            "decisions": {"type": "array", "items": {"type": "object"}},
            "outcome": {"type": ["object", "null"]},
            "links": {"type": "object", "properties": {"self": {"type": "string"}}}}},
    }


def _audit_doc() -> dict[str, Any]:
    """GET /gateway/audit (app/api/audit.py): filters, paging and the event shape."""
    from ..audit import OUTCOMES
    from .audit import OPERATIONS

    def param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description,
                "schema": schema}

    time_schema = {"type": "string", "description": "ISO-8601 or epoch seconds"}
    event = {"type": "object", "properties": {
        "id": {"type": "string", "description": "Stream id (usable as a cursor)"},
        "time": {"type": "string", "format": "date-time"}, "ts": {"type": "number"},
        "request_id": {"type": "string"},
        "actor": {"type": "object", "properties": {
            "sub": {"type": ["string", "null"]}, "ip": {"type": ["string", "null"]},
            "client_id": {"type": ["string", "null"]}}},
        "operation": {"type": "string"}, "method": {"type": "string"},
        "target": {"type": ["string", "null"]},
        "fields": {"type": "array", "items": {"type": "string"}},
        "values": {"type": "object", "description": "Values of non-sensitive fields only"},
        "outcome": {"type": "string", "enum": list(OUTCOMES)}, "status": {"type": "integer"},
        "reason": {"type": "string"}, "detail": {"type": "string"},
        "tier": {"type": ["string", "null"]}}}
    return {
        "operationId": "gateway_audit", "summary": "Read the audit trail (newest first)",
        "description": "Every write and every denied attempt. **Gateway permission:** "
                       "`audit:read`.",
        "security": [{"bearerAuth": []}], "x-gateway-permission": "audit:read",
        "parameters": [
            param("actor", "Subject (user id) of the caller", {"type": "string"}),
            param("target", "User id acted on", {"type": "string"}),
            param("operation", "Operation id", {"type": "string",
                                                "enum": list(OPERATIONS)}),
            param("outcome", "allowed, denied or failed", {"type": "string",
                                                           "enum": list(OUTCOMES)}),
            param("since", "Events at or after this time", time_schema),
            param("until", "Events at or before this time", time_schema),
            param("cursor", "next_cursor of the previous page", {"type": "string"}),
            param("limit", "Events per page", {"type": "integer", "minimum": 1,
                                               "maximum": 100, "default": 50}),
        ],
        "responses": {
            "200": {"description": "A page of events", "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "events": {"type": "array", "items": event},
                    "next_cursor": {"type": ["string", "null"]}}}}}},
            "400": _problem_ref(_PROBLEM_RESPONSES["400"]),
            "401": _problem_ref(_PROBLEM_RESPONSES["401"]),
            "403": _problem_ref("The caller lacks audit:read."),
            "429": _problem_ref("Rate limited (the caller's read limit)."),
            "503": _problem_ref("The audit store (Redis) is unavailable, or Auth0's signing "
                                "keys could not be fetched yet."),
        },
    }


@cache
def build_document() -> dict[str, Any]:
    spec = spec_document()
    paths: dict[str, Any] = {}
    for operation in CATALOG:
        paths.setdefault(operation.gateway_path, {})[operation.method.lower()] = \
            _operation_doc(operation)
    paths.update(_gateway_paths())
    # Refused by gunicorn before the app sees the request, on any path, as problem+json
    # (app/runtime/gunicorn_errors.py): malformed HTTP, too long a request line, too large
    # headers.
    for item in paths.values():
        for described in item.values():
            for status in _SERVER_ERRORS:
                described["responses"].setdefault(status, _problem_ref(_PROBLEM_RESPONSES[status]))
    components = copy.deepcopy(spec["components"])
    components.pop("securitySchemes", None)
    components["schemas"]["Problem"] = PROBLEM_SCHEMA
    components["schemas"].update(_gateway_schemas())
    components["securitySchemes"] = {"bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An Auth0 access token for the gateway's API (not a Management token)."}}
    return {
        "openapi": spec["openapi"],
        "info": {"title": "admin-gateway", "version": "1",
                 "description": "A permission-checked, least-privilege subset of the Auth0 "
                                "Management API v2. Paths, parameters and JSON are Auth0's; "
                                "errors are RFC 9457 problem details, including what the "
                                "HTTP server refuses before the gateway (400, 414, 431, "
                                "and 417 for an unmet Expect, 501 for an unsupported "
                                "Transfer-Encoding)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    }


@bp.before_request
def _docs_switch() -> None:
    # DOCS_ENABLED=false hides the whole blueprint: document, page and assets.
    if not settings().docs_enabled:
        abort(404)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_document())


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>admin-gateway API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>
"""
_DOCS_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  persistAuthorization: false, tryItOutEnabled: true});
"""
# Swagger UI's bundle needs inline styles; everything else comes from this origin.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")


def _swagger_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


@bp.get("/docs")
def docs_page() -> Response:
    response = Response(_DOCS_PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@bp.get("/docs/init.js")
def docs_init() -> Response:
    return Response(_DOCS_INIT, mimetype="text/javascript")


@bp.get("/docs/static/<path:name>")
def docs_static(name: str) -> Response:
    if name not in ("swagger-ui.css", "swagger-ui-bundle.js"):
        abort(404)
    return send_from_directory(_swagger_dir(), name, max_age=86400)
