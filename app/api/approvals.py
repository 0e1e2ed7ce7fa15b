"""`/gateway/approvals`: four-eyes approval requests (app/guards/approvals.py).

    GET  /gateway/approvals?state=pending|decided|<state>&mine=true&operation=&target=&limit=
    GET  /gateway/approvals/{id}
    POST /gateway/approvals/{id}/approve   {"reason": "..."}
    POST /gateway/approvals/{id}/reject    {"reason": "..."}
    POST /gateway/approvals/{id}/withdraw  (the requester, while pending)

Requesters see their own requests; approvers (the approver permission plus the
unrestricted scope permission) see and decide everyone's, never their own.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..auth import current_principal
from ..errors import Problem
from ..guards import approvals

bp = Blueprint("approvals", __name__, url_prefix="/gateway")

_ID = re.compile(r"^apr_[0-9a-f]{24}\Z")
STATE_FILTERS = (*approvals.STATES, "decided")
MAX_LIMIT = 100


def _bad(name: str, message: str) -> Problem:
    return Problem(400, f"Invalid query parameter(s): {name}.", title="Invalid request",
                   slug="invalid-request", extra={"errors": {name: [message]}})


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _approval_id(raw: str) -> str:
    if not _ID.match(raw):
        raise approvals.not_found()
    return raw


@bp.get("/approvals")
def list_approvals() -> Response:
    principal = current_principal()
    rule = approvals.require_config()
    args = request.args
    unknown = sorted(set(args) - {"state", "mine", "operation", "target", "limit", "before"})
    if unknown:
        raise _bad(unknown[0], "Unknown field.")
    repeated = sorted(name for name in args if len(args.getlist(name)) > 1)
    if repeated:  # as the facade: never pick one of two values silently
        raise _bad(repeated[0], "Given more than once.")
    state = args.get("state")
    if state is not None and state not in STATE_FILTERS:
        raise _bad("state", f"One of {', '.join(STATE_FILTERS)}.")
    mine = args.get("mine", "false")
    if mine not in ("true", "false"):
        raise _bad("mine", "true or false.")
    try:
        limit = int(args.get("limit", "50"))
        before = float(args["before"]) if "before" in args else None
    except ValueError:
        raise _bad("limit", "A whole number 1-100; before: a created_ts.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", "A whole number 1-100.")
    if before is not None and not 0 <= before < 1e11:  # also refuses nan and inf
        raise _bad("before", "A created_ts from next_before.")
    only_mine = mine == "true" or not approvals.may_decide(principal, rule)
    found: list[dict[str, Any]] = []
    next_before: float | None = None
    for stored in approvals.store().newest(before):
        record = stored.record
        if only_mine and record["requester"]["subject"] != principal.subject:
            continue
        current = stored.state
        if state == "decided" and current == "pending":
            continue
        if state not in (None, "decided") and current != state:
            continue
        if args.get("operation") not in (None, record["operation_id"]):
            continue
        if args.get("target") not in (None, record.get("target")):
            continue
        found.append({**approvals.resource(stored), "created_ts": record["created_at"]})
        if len(found) == limit:
            next_before = record["created_at"]
            break
    return _no_store(jsonify(approvals=found, next_before=next_before))


@bp.get("/approvals/<approval_id>")
def get_approval(approval_id: str) -> Response:
    principal = current_principal()
    rule = approvals.require_config()
    stored = approvals.store().get(_approval_id(approval_id))
    if stored is None or not approvals.visible_to(stored, principal, rule):
        raise approvals.not_found()
    return _no_store(jsonify(approvals.resource(stored)))


def _decision_reason() -> str | None:
    if not request.content_length:
        return None
    body = request.get_json()
    if not isinstance(body, dict) or set(body) - {"reason"} or not isinstance(
            body.get("reason", ""), str):
        raise Problem(400, "The body is {\"reason\": \"...\"} or nothing.",
                      title="Invalid request", slug="invalid-request",
                      extra={"errors": {"reason": ["A string."]}})
    reason = body.get("reason")
    return reason if isinstance(reason, str) else None


def _decide(approval_id: str, decision: str) -> Response:
    principal = current_principal()
    reason = _decision_reason()
    stored, failure = approvals.decide_request(_approval_id(approval_id), principal, decision,
                                               reason)
    if failure is not None:
        raise failure
    return _no_store(jsonify(approvals.resource(stored)))


@bp.post("/approvals/<approval_id>/approve")
def approve(approval_id: str) -> Response:
    return _decide(approval_id, "approve")


@bp.post("/approvals/<approval_id>/reject")
def reject(approval_id: str) -> Response:
    return _decide(approval_id, "reject")


@bp.post("/approvals/<approval_id>/withdraw")
def withdraw(approval_id: str) -> Response:
    principal = current_principal()
    stored = approvals.withdraw(_approval_id(approval_id), principal)
    return _no_store(jsonify(approvals.resource(stored)))
